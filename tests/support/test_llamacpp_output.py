"""The llama.cpp output parsers, on lines captured from the pinned tools."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.support import llamacpp_output
from tests.support.llamacpp_output import (
    parse_buffer_log,
    parse_dry_run,
    parse_fit_print,
    parse_llama_bench_json,
)

DRY_RUN = """\
llama_quantize: calculating quantization size for '/tmp/m.gguf' as Q4_K_M
[   1/   4] output.weight                        - [  4096, 128256,      1,      1], type =    f16, size =  1002.00 MiB ->   410.98 MiB (q6_K)
[   2/   4] output_norm.weight                   - [  4096,      1,      1,      1], type =    f32, size =    0.016 MiB
[   3/   4] blk.0.attn_v.weight                  - [  4096,   1024,      1,      1], type =    f16, size =     8.00 MiB ->     3.28 MiB (q6_K)
[   4/   4] token_embd.weight                    - [  4096, 128256,      1,      1], type =    f16, size =  1002.00 MiB ->   281.81 MiB (q4_K)
llama_model_quantize_impl: model size  =  2012.02 MiB (16.00 BPW)
llama_model_quantize_impl: quant size  =   696.09 MiB (5.53 BPW)
llama_model_quantize_impl: WARNING: 3 of 4 tensor(s) required fallback quantization
"""  # noqa: E501


def test_dry_run_types_and_totals() -> None:
    r = parse_dry_run(DRY_RUN)
    assert r.types == {"output.weight": "Q6_K", "output_norm.weight": "F32", "blk.0.attn_v.weight": "Q6_K",
                       "token_embd.weight": "Q4_K"}  # fmt: skip
    assert (r.quant_mib, r.model_mib, r.n_tensors, r.n_fallback) == (696.09, 2012.02, 4, 3)


def test_dry_run_without_listing_is_an_error() -> None:
    with pytest.raises(ValueError, match="not a llama-quantize"):
        parse_dry_run("llama_model_quantize_impl: failed to quantize: unknown model architecture")


SERVER_LOG = """\
0.00.030.867 I common_memory_breakdown_print: |   - Host               |                   25 =     7 +       8 +      10                |
0.00.033.569 I load_tensors:   CPU_Mapped model buffer size =     7.01 MiB
0.00.033.884 I llama_context:        CPU  output buffer size =     0.01 MiB
0.00.033.979 I llama_kv_cache:        CPU KV buffer size =     6.00 MiB
0.00.040.026 I llama_kv_cache: size =    6.00 MiB (  4096 cells,   4 layers,  4/1 seqs), K (f16):    3.00 MiB, V (f16):    3.00 MiB
0.00.040.030 I llama_kv_cache: size =    2.50 MiB (  1536 cells,   4 layers,  4/1 seqs), K (f16):    1.25 MiB, V (f16):    1.25 MiB
0.00.041.000 I sched_reserve:        CPU compute buffer size =     9.00 MiB
0.00.042.050 I sched_reserve:        CPU compute buffer size =    10.04 MiB
"""  # noqa: E501


def test_server_log_sums_both_caches_and_keeps_the_last_compute_reservation() -> None:
    r = parse_buffer_log(SERVER_LOG)
    assert (r.model, r.kv, r.compute, r.output, r.breakdown_model) == (7.01, 8.5, 10.04, 0.01, 7)
    assert r.total == pytest.approx(7.01 + 8.5 + 10.04 + 0.01)
    assert not r.whole_mib


def test_projection_log_has_no_model_buffer_but_a_breakdown() -> None:
    log = """\
0.00.032.620 I load_tensors:          CPU model buffer size =     0.00 MiB
0.00.034.804 I llama_kv_cache: size = 1088.00 MiB ( 16384 cells,  32 layers,  1/1 seqs), K (q8_0):  544.00 MiB
0.00.054.924 I sched_reserve:        CPU compute buffer size =   274.50 MiB
0.00.055.358 I common_memory_breakdown_print: |   - Host               |                 16679 = 15317 +    1088 +     274                |
"""  # noqa: E501
    r = parse_buffer_log(log)
    assert r.model is None and r.breakdown_model == 15317
    assert r.total == pytest.approx(15317 + 1088 + 274.5)


def test_truncated_log_is_an_error() -> None:
    with pytest.raises(ValueError, match="no KV cache or compute buffer"):
        parse_buffer_log(SERVER_LOG.split("llama_kv_cache: size")[0])


def test_fit_print_lines() -> None:
    out = parse_fit_print("CUDA0 20480 1024 300 \nHost 15317 1088 274 \n")
    assert out["Host"].model == 15317 and out["Host"].context == 1088 and out["Host"].compute == 274
    assert out["CUDA0"].model == 20480
    with pytest.raises(ValueError):
        parse_fit_print("-c 16384 -ngl -1\n")


def test_llama_bench_json() -> None:
    doc = [{"n_prompt": 0, "n_gen": 64, "n_threads": 2, "avg_ts": 184.9, "stddev_ts": 34.5,
            "samples_ts": [145.1, 204.1, 205.6]}]  # fmt: skip
    (r,) = parse_llama_bench_json(json.dumps(doc))
    assert (r.n_gen, r.n_threads, r.mean_tps, r.samples) == (64, 2, 184.9, (145.1, 204.1, 205.6))
    with pytest.raises(ValueError, match="did not print JSON"):
        parse_llama_bench_json("error: failed to load model")


def test_a_fit_run_that_hangs_at_exit_is_run_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The first run hangs for ever (as llama.cpp's log can at exit); the second prints and exits."""
    marker = tmp_path / "ran-once"
    tool = tmp_path / "fit"
    tool.write_text(
        "#!/bin/sh\n"
        f'if [ ! -e "{marker}" ]; then touch "{marker}"; exec sleep 100000; fi\n'
        "echo 'Host 1 2 3'\n"
    )
    tool.chmod(0o755)
    monkeypatch.setattr(llamacpp_output, "FIT_HANG_S", 1)
    proc = llamacpp_output._run_fit([str(tool)])
    assert marker.exists() and proc.stdout == "Host 1 2 3\n"


def test_a_fit_run_that_always_hangs_fails_after_its_tries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    count = tmp_path / "count"
    tool = tmp_path / "fit"
    tool.write_text(f'#!/bin/sh\necho x >> "{count}"\nexec sleep 100000\n')
    tool.chmod(0o755)
    monkeypatch.setattr(llamacpp_output, "FIT_HANG_S", 1)
    with pytest.raises(subprocess.TimeoutExpired):
        llamacpp_output._run_fit([str(tool)])
    assert count.read_text().count("x") == llamacpp_output.FIT_TRIES
