"""At start-up, a chat history other users could read is made private, and the user is told once."""

from __future__ import annotations

import os
import stat

from core.chat.history import HistoryStore
from tests.fakes.fake_nvml import FakeGpu, FakeNvml
from tests.tui.conftest import AppFactory, wait_for


async def test_a_readable_history_is_made_private_when_the_app_starts(build_app: AppFactory) -> None:
    with HistoryStore.open() as store:
        store.create_session(model="m", host="local")
    for p in (store.path, store.path.parent):
        os.chmod(p, 0o755 if p.is_dir() else 0o644)  # as an older llamadeck left them
    app = build_app(FakeNvml([FakeGpu()]))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: any("readable by you only" in n.message for n in app._notifications))
        assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
        assert stat.S_IMODE(store.path.parent.stat().st_mode) == 0o700

