"""The fake Ollama's /api/chat and /api/generate answers, line by line.

Separate from the HTTP server because this is the part chat tests script:
thinking before content, chunk delays, the final line's nanosecond counters,
and `keep_alive: 0` unloading once the reply is done.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.fakes.fake_ollama import FakeOllama
    from tests.fakes.fake_ollama_models import FakeModel

_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")


def parse_keep_alive(value: Any) -> float | None:
    """`keep_alive` in seconds: a number is seconds, a string is a Go duration ("5m", "1h30m", "-1m").

    None means "not given" (the server default applies). Numeric strings are
    accepted too, more leniently than Ollama, so curl experiments are easy.
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value).strip()
    try:
        return float(text)
    except ValueError:
        pass
    sign = -1.0 if text.startswith("-") else 1.0
    body = text.lstrip("+-")
    total, pos = 0.0, 0
    for match in _PART.finditer(body):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if pos != len(body) or not body:
        return None
    return sign * total


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _prompt_tokens(body: dict[str, Any], model: FakeModel) -> int:
    texts = [m.get("content") or "" for m in body.get("messages") or [] if isinstance(m, dict)]
    texts.append(body.get("prompt") or "")
    texts.append(body.get("system") or model.system)
    return max(1, sum(len(t.split()) for t in texts))


def chat_lines(fake: FakeOllama, model: FakeModel, name: str, kind: str, body: dict[str, Any],
               think: bool, was_loaded: bool, keep_alive: float | None) -> Iterator[dict[str, Any]]:
    """The NDJSON lines of one reply; with `stream: false` the server merges them (see `merged`)."""
    script = fake.script_for(name)
    thinking = list(script.thinking) if think else []
    streamed = body.get("stream", True) is not False

    def piece(content: str, thought: str | None) -> dict[str, Any]:
        line: dict[str, Any] = {"model": name, "created_at": _now()}
        if kind == "chat":
            message: dict[str, Any] = {"role": "assistant", "content": content}
            if thought is not None:
                message["thinking"] = thought
            line["message"] = message
        else:
            line["response"] = content
            if thought is not None:
                line["thinking"] = thought
        line["done"] = False
        return line

    if streamed:
        for thought in thinking:
            fake.sleep(script.delay)
            yield piece("", thought)
        for i, chunk in enumerate(script.chunks):
            if script.holds_at(i):
                script.held.set()
                fake.wait_until(lambda i=i: not script.holds_at(i))  # type: ignore[misc]
            fake.sleep(script.delay)
            yield piece(chunk, None)
        final = piece("", None)
    else:
        fake.sleep(script.delay * (len(thinking) + len(script.chunks)))
        final = piece("".join(script.chunks), "".join(thinking) if thinking else None)

    prompt_count = _prompt_tokens(body, model)
    eval_count = len(thinking) + len(script.chunks)
    stats = {
        "load_duration": 2_000_000 if was_loaded else 50_000_000,
        "prompt_eval_count": prompt_count,
        "prompt_eval_duration": prompt_count * 1_000_000,
        "eval_count": eval_count,
        "eval_duration": eval_count * 10_000_000,
    }
    stats.update(script.stats)
    stats.setdefault("total_duration", stats["load_duration"] + stats["prompt_eval_duration"]
                     + stats["eval_duration"] + 1_000_000)
    final["done"] = True
    final["done_reason"] = script.done_reason
    if kind == "generate":
        final["context"] = [1, 2, 3]
    final.update(stats)
    if keep_alive == 0:
        fake.unload(model.name)
    yield final
