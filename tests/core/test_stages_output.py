"""Progress and diagnosis from the tools' own words.

The sample lines are what the pinned convert_hf_to_gguf.py and llama-quantize
printed on the tiny model (and, for failures, what users paste in issues).
"""

from __future__ import annotations

import signal

import pytest

from core.pipeline.tool_output import (
    CONVERT_PLAN_WEIGHT,
    ConvertProgress,
    QuantizeProgress,
    diagnose,
    pip_command,
)

CONVERT_TENSOR = "INFO:hf-to-gguf:blk.0.attn_q.weight,          torch.bfloat16 --> F16, shape = {256, 256}"
CONVERT_NORM = "INFO:hf-to-gguf:blk.0.attn_norm.weight,     torch.bfloat16 --> F32, shape = {256}"
TQDM_HALF = "Writing:  50%|█████     | 3.67M/7.35M [00:01<00:01, 2.17Mbyte/s]"
TQDM_DONE = "Writing: 100%|██████████| 7.35M/7.35M [00:00<00:00, 217Mbyte/s]"
QUANT_1 = ("[   1/  39]                        output.weight - [   256,    512,      1,      1], "
           "type =    f16, converting to q6_K .. size =     0.25 MiB ->     0.10 MiB")
QUANT_2 = ("[   2/  39]                   output_norm.weight - [   256,      1,      1,      1], "
           "type =    f32, size =    0.001 MiB")
QUANT_3 = ("[   3/  39]                    token_embd.weight - [   256,    512,      1,      1], "
           "type =    f16, ")


def test_convert_planning_lines_fill_the_first_part_only() -> None:
    p = ConvertProgress(n_tensors=4)
    first = p.feed(CONVERT_TENSOR)
    second = p.feed(CONVERT_NORM)
    assert first is not None and second is not None
    assert first.fraction == pytest.approx(CONVERT_PLAN_WEIGHT / 4)
    assert second.fraction == pytest.approx(CONVERT_PLAN_WEIGHT / 2)
    assert second.detail == "tensor 2/4"


def test_convert_writer_bar_gives_bytes_of_the_expected_total() -> None:
    p = ConvertProgress(n_tensors=39, total_bytes=7_363_488)
    half = p.feed(TQDM_HALF)
    done = p.feed(TQDM_DONE)
    assert half is not None and done is not None
    assert half.fraction == pytest.approx(CONVERT_PLAN_WEIGHT + (1 - CONVERT_PLAN_WEIGHT) * 3.67 / 7.35)
    assert half.total_bytes == 7_363_488
    assert done.fraction == pytest.approx(1.0)
    assert done.done_bytes == 7_363_488


def test_convert_without_a_known_total_uses_the_bars_numbers() -> None:
    reading = ConvertProgress().feed(TQDM_DONE)
    assert reading is not None and reading.total_bytes == 7_350_000


@pytest.mark.parametrize("line", ["INFO:hf-to-gguf:Set model tokenizer", "", "random text 50%"])
def test_convert_other_lines_are_not_progress(line: str) -> None:
    assert ConvertProgress(10).feed(line) is None


def test_quantize_progress_is_weighted_by_tensor_bytes() -> None:
    sizes = {"output.weight": 262144, "output_norm.weight": 1024, "token_embd.weight": 262144}
    p = QuantizeProgress(sizes)
    r1, r2, r3 = p.feed(QUANT_1), p.feed(QUANT_2), p.feed(QUANT_3)
    assert r1 is not None and r2 is not None and r3 is not None
    assert (r1.fraction, r1.done_bytes) == (0.0, 0)
    # A tensor counts once the next one starts: after output.weight, half of the bytes are done.
    assert r2.done_bytes == 262144
    assert r3.done_bytes == 262144 + 1024
    assert r3.fraction == pytest.approx((262144 + 1024) / sum(sizes.values()))
    assert r3.detail == "tensor 3/39"


def test_quantize_without_sizes_counts_tensors() -> None:
    reading = QuantizeProgress().feed(QUANT_2)
    assert reading is not None and reading.fraction == pytest.approx(1 / 39)


@pytest.mark.parametrize(
    ("lines", "code", "tool", "expect"),
    [
        (["llama-quantize: error while loading shared libraries: libllama.so: cannot open shared object "
          "file: No such file or directory"], 127, "llama-quantize", ["libllama.so", "LD_LIBRARY_PATH",
                                                                      "-DBUILD_SHARED_LIBS=OFF"]),
        (["Traceback (most recent call last):", "ModuleNotFoundError: No module named 'sentencepiece'"], 1,
         "convert_hf_to_gguf.py", ["sentencepiece", "/venv/bin/python -m pip install sentencepiece"]),
        (["OSError: [Errno 28] No space left on device"], 1, "convert_hf_to_gguf.py", ["disk filled up"]),
        (["OSError: [Errno 27] File too large"], 1, "convert_hf_to_gguf.py", ["File too large", "ulimit"]),
        ([], -signal.SIGXFSZ, "llama-quantize", ["File too large"]),
        (["OSError: 196608 requested and 57904 written"], 1, "convert_hf_to_gguf.py",
         ["short write", "disk is full", "size limit"]),
        (["ERROR:hf-to-gguf:Model FooForCausalLM is not supported"], 1, "convert_hf_to_gguf.py",
         ["FooForCausalLM", "Update llama.cpp"]),
        ([], -signal.SIGKILL, "convert_hf_to_gguf.py", ["out-of-memory killer", "SIGKILL"]),
        ([], -signal.SIGTERM, "llama-quantize", ["SIGTERM"]),
        (["llama_model_quantize: failed to quantize: this quantization requires an imatrix!"], 1,
         "llama-quantize", ["--imatrix"]),
    ],
)
def test_known_failures_are_diagnosed(lines: list[str], code: int, tool: str, expect: list[str]) -> None:
    text = diagnose(lines, code, tool=tool, python="/venv/bin/python")
    assert text is not None
    for part in expect:
        assert part in text


def test_unknown_failure_has_no_diagnosis() -> None:
    assert diagnose(["something odd happened"], 1, tool="llama-quantize") is None


def test_torch_is_installed_from_the_cpu_wheel_index() -> None:
    command = pip_command("/v/bin/python", "torch")
    assert command.startswith("/v/bin/python -m pip install torch")
    assert "download.pytorch.org/whl/cpu" in command
    assert pip_command("/v/bin/python", "transformers.models") == "/v/bin/python -m pip install transformers"
