"""Discover's keys: what the key line, help (?) and the command palette show for the screen.

None of them is one of the app's own (1-6, ?, o, q): `o` switches the host everywhere, so the
Ollama pull is `p` as on the model browser, and the planner hand-off `f` as there too.
"""

from __future__ import annotations

from textual.binding import Binding, BindingType

SEARCH = Binding.Group("Search", compact=True)
VERDICTS = Binding.Group("Verdicts", compact=True)
FILE = Binding.Group("File", compact=True)

DISCOVER_KEYS: list[BindingType] = [
    Binding("slash", "search", "Search", key_display="/", group=SEARCH,
            tooltip="Words of a repo's name; Enter searches, Esc goes back to the results"),
    Binding("m", "more", "More results", group=SEARCH, show=False, tooltip="The next page of this search"),
    Binding("s", "sort", "Sort order", group=SEARCH, show=False,
            tooltip="downloads, likes, recent, trending: searches again"),
    Binding("c", "ctx(1)", "Context", group=VERDICTS,
            tooltip="4k 8k 16k 32k auto: every verdict is planned again (headers come from the cache)"),
    Binding("C", "ctx(-1)", "Previous context", group=VERDICTS, show=False),
    Binding("k", "kv", "KV cache type", group=VERDICTS, show=False, tooltip="f16, q8_0, q4_0"),
    Binding("p", "pull", "Pull", group=FILE,
            tooltip="Into Ollama as hf.co/{repo}:{quant}; the Models screen shows the progress, x cancels"),
    Binding("d", "download", "Download", group=FILE,
            tooltip="The GGUF, every part, into the first gguf_dirs folder: a job that checks the disk first "
                    "and resumes when run again"),
    Binding("f", "plan", "Plan", group=FILE,
            tooltip="The planner on this file: memory per device, other quants, the llama-server command"),
    Binding("escape", "back", "Back to the results", show=False),
]
