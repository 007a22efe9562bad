"""The planner's keys: what the key line, help (?) and the command palette show for the screen."""

from __future__ import annotations

from textual.binding import Binding, BindingType

MODEL = Binding.Group("Model", compact=True)
SETTINGS = Binding.Group("Inputs", compact=True)
ROW = Binding.Group("Row", compact=True)

PLANNER_KEYS: list[BindingType] = [
    Binding("m", "pick_model", "Model", group=MODEL,
            tooltip="Pick one: catalog and Ollama models, filter as you type"),
    Binding("i", "edit_model", "Type a model", group=MODEL, show=False,
            tooltip="A .gguf path, HF folder or org/repo, catalog name or ollama:NAME; Enter plans it"),
    Binding("c", "ctx(1)", "Context", group=SETTINGS,
            tooltip="The next preset: 2k 4k 8k 16k 32k 128k; any size can be typed in Ctx"),
    Binding("C", "ctx(-1)", "Previous context preset", group=SETTINGS, show=False),
    Binding("k", "cycle('kv')", "KV cache type", group=SETTINGS, show=False, tooltip="f16, q8_0, q4_0"),
    Binding("a", "cycle('fa')", "Flash attention", group=SETTINGS, show=False, tooltip="auto, on, off"),
    Binding("r", "cycle('runtime')", "Runtime", group=SETTINGS, show=False,
            tooltip="llama-server's defaults (4 slots share the cache), Ollama's (1 slot, batch 512) "
                    "or a plain llama.cpp context (llama-cli, the Python API)"),
    Binding("g", "pick_machine", "Machine", group=SETTINGS,
            tooltip="This machine, its free memory now, or a hypothetical card and RAM"),
    Binding("y", "copy_command", "Copy command", group=ROW,
            tooltip="The llama-server command for this row"),
    Binding("o", "copy_ollama", "Copy the Ollama settings", group=ROW, show=False),
    Binding("p", "quantize", "Quantize to this", group=ROW, show=False,
            tooltip="Open the pipeline to make this quantization of the model"),
    Binding("z", "zoom", "Zoom the details", group=ROW, show=False, tooltip="Again to go back"),
    Binding("x", "more_columns", "More columns", group=ROW,
            tooltip="+PPL, max context on the GPU, KV, prompt tok/s, bits per weight; x again: back"),
    Binding("R", "reprobe", "Read this machine again", show=False),
    Binding("w", "cycle_goal", "Goal for the best row", group=SETTINGS, show=False,
            tooltip="quality (most bits at a readable speed), speed, or context (longest on the GPU)"),
    Binding("b", "measure_bandwidth", "Measure RAM bandwidth", group=SETTINGS, show=False,
            tooltip="About a second; kept for later plans, which then use it for CPU speeds"),
]
