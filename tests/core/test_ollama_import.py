"""Import into Ollama over HTTP: blob upload with a checked digest, then create, against the fake server."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from core.config import HostConfig
from core.errors import OllamaError
from core.ollama.chat_format import chat_format
from core.ollama.client import OllamaClient
from core.pipeline.file_digest import cached_digest
from core.pipeline.ollama_import import default_model_name, import_gguf
from core.pipeline.types import JobEvent, LogLine, StageProgress
from tests.fakes.fake_ollama import FakeOllama
from tests.fakes.gguf_files import write_gguf
from tests.fakes.tiny_models import CHAT_TEMPLATE

LLAMA3_JINJA = ("{% for m in messages %}<|start_header_id|>{{ m['role'] }}<|end_header_id|>\n\n"
                "{{ m['content'] }}<|eot_id|>{% endfor %}")


@pytest.fixture
def gguf_file(tmp_path: Path) -> Path:
    kv = {"tokenizer.chat_template": CHAT_TEMPLATE, "general.sampling.temp": 0.7, "general.file_type": 1}
    return write_gguf(tmp_path / "tiny-F16.gguf", "llama", kv, [("token_embd.weight", (64, 32), "F16")])


def _client(fake: FakeOllama) -> OllamaClient:
    return OllamaClient(HostConfig(name="fake", url=fake.url))


async def test_upload_then_create_with_template_and_stops(fake_ollama: FakeOllama, gguf_file: Path) -> None:
    events: list[JobEvent] = []
    fmt = chat_format({"tokenizer.chat_template": CHAT_TEMPLATE, "general.sampling.temp": 0.7})
    async with _client(fake_ollama) as client:
        digest = await import_gguf(client, gguf_file, "tiny:f16", fmt, events.append, interval=0)
    want = "sha256:" + hashlib.sha256(gguf_file.read_bytes()).hexdigest()
    assert digest == want
    # The server stored the bytes under that digest, after checking them itself.
    assert fake_ollama.blobs[want].read_bytes() == gguf_file.read_bytes()
    create = [r for r in fake_ollama.requests if r.path == "/api/create"][-1]
    assert create.body["model"] == "tiny:f16"
    assert create.body["files"] == {"tiny-F16.gguf": want}
    assert "<|assistant|>" in create.body["template"]
    assert create.body["parameters"]["stop"] == ["<|system|>", "</s>", "<|user|>", "<|assistant|>"]
    assert create.body["parameters"]["temperature"] == pytest.approx(0.7)
    assert fake_ollama.find("tiny:f16") is not None
    details = [e.detail for e in events if isinstance(e, StageProgress)]
    assert "hashing" in details and "uploading" in details
    assert any(isinstance(e, LogLine) and e.text == "ollama: success" for e in events)


async def test_a_blob_the_server_has_is_not_sent_again(fake_ollama: FakeOllama, gguf_file: Path) -> None:
    fmt = chat_format({})
    async with _client(fake_ollama) as client:
        await import_gguf(client, gguf_file, "tiny:a", fmt, lambda e: None)
        posts_before = sum(1 for r in fake_ollama.requests if r.method == "POST" and "/api/blobs/" in r.path)
        events: list[JobEvent] = []
        await import_gguf(client, gguf_file, "tiny:b", fmt, events.append)
    posts_after = sum(1 for r in fake_ollama.requests if r.method == "POST" and "/api/blobs/" in r.path)
    assert posts_after == posts_before == 1
    assert any(isinstance(e, LogLine) and "nothing to upload" in e.text for e in events)
    # The digest was remembered: the second import did not hash the file again.
    assert cached_digest(gguf_file) is not None
    assert not any(isinstance(e, StageProgress) and e.detail == "hashing" for e in events)


async def test_a_refused_upload_is_a_sentence(fake_ollama: FakeOllama, gguf_file: Path) -> None:
    fake_ollama.add_fault(path="/api/blobs/", method="POST", status=400,
                          error='digest mismatch, expected "sha256:x", got "sha256:y"')
    async with _client(fake_ollama) as client:
        with pytest.raises(OllamaError, match=r"refused the upload of tiny-F16\.gguf") as err:
            await import_gguf(client, gguf_file, "tiny:f16", chat_format({}), lambda e: None)
    assert "digest mismatch" in str(err.value)
    assert fake_ollama.find("tiny:f16") is None


async def test_a_create_error_line_is_a_sentence(fake_ollama: FakeOllama, gguf_file: Path) -> None:
    fake_ollama.add_fault(path="/api/create", error_line_after=1, error="insufficient disk space")
    async with _client(fake_ollama) as client:
        with pytest.raises(OllamaError, match="insufficient disk space"):
            await import_gguf(client, gguf_file, "tiny:f16", chat_format({}), lambda e: None)


async def test_unreachable_ollama(gguf_file: Path) -> None:
    async with OllamaClient(HostConfig(name="gone", url="http://127.0.0.1:9")) as client:
        with pytest.raises(OllamaError, match="not running"):
            await import_gguf(client, gguf_file, "tiny:f16", chat_format({}), lambda e: None)


# --------------------------------------------------------------------------- chat formats


@pytest.mark.parametrize(
    ("jinja", "family", "stop"),
    [
        (CHAT_TEMPLATE, "zephyr", "<|user|>"),
        (LLAMA3_JINJA, "llama3", "<|eot_id|>"),
        ("{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>{% endfor %}", "chatml",
         "<|im_end|>"),
        ("{{ '<|user|>' + m + '<|end|>' + '<|assistant|>' }}", "phi3", "<|end|>"),
        ("{{'<|' + message['role'] + '|>' + '\n' + message['content'] + '<|end|>'}}", "phi3", "<|end|>"),
        ("<start_of_turn>user\n{{ x }}<end_of_turn>", "gemma", "<end_of_turn>"),
        ("{{'<｜User｜>' + c + '<｜Assistant｜>'}}", "deepseek-r1", "<｜end▁of▁sentence｜>"),
    ],
)
def test_recognised_chat_formats(jinja: str, family: str, stop: str) -> None:
    fmt = chat_format({"tokenizer.chat_template": jinja})
    assert fmt.family == family
    assert fmt.template is not None and "{{ .Content }}" in fmt.template and ".Messages" in fmt.template
    assert stop in fmt.stop
    assert fmt.create_parameters()["stop"] == list(fmt.stop)


def test_an_unknown_template_is_left_to_ollama_and_said_so() -> None:
    fmt = chat_format({"tokenizer.chat_template": "[INST] {{ messages }} [/INST]",
                       "general.sampling.top_k": 40})
    assert fmt.template is None and fmt.stop == ()
    assert "not one llamadeck recognises" in fmt.note
    assert fmt.create_parameters() == {"top_k": 40}


def test_no_template_at_all() -> None:
    fmt = chat_format({})
    assert fmt.template is None and "no chat template" in fmt.note


@pytest.mark.parametrize(
    ("name", "quant", "expect"),
    [("Qwen2.5-7B-Instruct", "Q4_K_M", "qwen2.5-7b-instruct:q4_k_m"),
     ("tiny llama/v2", None, "tiny-llama-v2:latest"),
     ("DeepSeek-R1-Distill-Qwen-7B", "F16", "deepseek-r1-distill-qwen-7b:f16")],
)
def test_default_model_names(name: str, quant: str | None, expect: str) -> None:
    assert default_model_name(name, quant) == expect
