"""The chat template and stop words an imported GGUF gets in Ollama.

What Ollama does on its own (server/create.go, server/model.go at the
versions people run): when `/api/create` gets a GGUF and no `template`, it
compares the GGUF's Jinja `tokenizer.chat_template` with the twenty-odd Jinja
templates it ships (template/index.json) and takes the closest one if the
edit distance is under 100, with that template's stop words. A template it
does not recognise leaves the model with a bare `{{ .Prompt }}`, so chat
turns run together and the model talks past its turn. Newer Ollama versions
can also render the GGUF's Jinja template directly.

llamadeck cannot know which Ollama version is on the other end, so it does
not try to predict the inference. Instead, for the chat formats it can
recognise with certainty from their special tokens, it sends a Go template
and stop words of its own, written for that format; any Ollama version
honours an explicit template. For anything else it sends no template and
says so, leaving the choice to Ollama. The templates here render roles and
content only: tool calls and thinking blocks are not templated (Ollama's own
newer handling, when it prefers the GGUF's Jinja template, may add them).

Sampling defaults the model's authors shipped in generation_config.json reach
the GGUF as `general.sampling.*`; Ollama does not read those keys, so they
are passed on as parameters.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ChatFormat:
    """What /api/create gets besides the file: `template` None means "let Ollama decide"."""

    family: str | None
    template: str | None
    stop: tuple[str, ...] = ()
    parameters: Mapping[str, Any] = field(default_factory=dict)
    note: str = ""

    def create_parameters(self) -> dict[str, Any]:
        params: dict[str, Any] = dict(self.parameters)
        if self.stop:
            params["stop"] = list(self.stop)
        return params


# (family, marker sets: the family matches when every marker of one set is in the Jinja
# template, Go template, stop words). Some templates spell the role markers out, others
# build them as '<|' + role + '|>', so both forms are listed. Order matters: Phi-3 ends
# turns with <|end|>, Zephyr with the EOS token, and both use <|user|>.
_FAMILIES: tuple[tuple[str, tuple[tuple[str, ...], ...], str, tuple[str, ...]], ...] = (
    (
        "llama3",
        (("<|start_header_id|>", "<|eot_id|>"),),
        "{{- range .Messages }}<|start_header_id|>{{ .Role }}<|end_header_id|>\n\n"
        "{{ .Content }}<|eot_id|>{{ end }}<|start_header_id|>assistant<|end_header_id|>\n\n",
        ("<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"),
    ),
    (
        "chatml",
        (("<|im_start|>", "<|im_end|>"),),
        "{{- range .Messages }}<|im_start|>{{ .Role }}\n{{ .Content }}<|im_end|>\n"
        "{{ end }}<|im_start|>assistant\n",
        ("<|im_start|>", "<|im_end|>"),
    ),
    (
        "phi3",
        (("<|user|>", "<|assistant|>", "<|end|>"), ("'<|' +", "'|>'", "<|end|>")),
        "{{- range .Messages }}<|{{ .Role }}|>\n{{ .Content }}<|end|>\n{{ end }}<|assistant|>\n",
        ("<|end|>", "<|user|>", "<|assistant|>"),
    ),
    (
        "zephyr",
        (("<|user|>", "<|assistant|>", "eos_token"), ("'<|' +", "|>", "eos_token")),
        "{{- range .Messages }}<|{{ .Role }}|>\n{{ .Content }}</s>\n{{ end }}<|assistant|>\n",
        ("<|system|>", "</s>", "<|user|>", "<|assistant|>"),
    ),
    (
        "gemma",
        (("<start_of_turn>", "<end_of_turn>"),),
        # Gemma has no system role: a system message is sent as a user turn, as its template does.
        "{{- range .Messages }}<start_of_turn>{{ if eq .Role \"assistant\" }}model{{ else }}user{{ end }}\n"
        "{{ .Content }}<end_of_turn>\n{{ end }}<start_of_turn>model\n",
        ("<start_of_turn>", "<end_of_turn>"),
    ),
    (
        "deepseek-r1",
        (("<｜User｜>", "<｜Assistant｜>"),),
        "{{- range .Messages }}{{ if eq .Role \"system\" }}{{ .Content }}"
        "{{ else if eq .Role \"user\" }}<｜User｜>{{ .Content }}"
        "{{ else }}<｜Assistant｜>{{ .Content }}<｜end▁of▁sentence｜>{{ end }}{{ end }}<｜Assistant｜>",
        ("<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>", "<｜User｜>", "<｜Assistant｜>"),
    ),
)

# general.sampling.* (written by the converter from generation_config.json) -> Ollama parameter names.
_SAMPLING = {
    "general.sampling.temp": "temperature",
    "general.sampling.top_p": "top_p",
    "general.sampling.top_k": "top_k",
    "general.sampling.min_p": "min_p",
}


def chat_format(metadata: Mapping[str, Any]) -> ChatFormat:
    """The template/stop/parameters to send for a GGUF with this header metadata."""
    parameters = _sampling(metadata)
    jinja = metadata.get("tokenizer.chat_template")
    if not isinstance(jinja, str) or not jinja.strip():
        return ChatFormat(None, None, parameters=parameters,
                          note="The GGUF has no chat template; Ollama will treat it as a plain "
                               "completion model.")
    for family, marker_sets, template, stop in _FAMILIES:
        if any(all(m in jinja for m in markers) for markers in marker_sets):
            return ChatFormat(family, template, stop, parameters,
                              note=f"Chat format {family}: llamadeck sends its template and stop words.")
    return ChatFormat(None, None, parameters=parameters,
                      note="The GGUF's chat template is not one llamadeck recognises; Ollama picks its "
                           "closest known template, or uses the GGUF's own on newer versions. If replies "
                           "run past their turn, set a TEMPLATE with `ollama create`.")


def _sampling(metadata: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, name in _SAMPLING.items():
        value = metadata.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        out[name] = int(value) if name == "top_k" else round(float(value), 6)
    return out
