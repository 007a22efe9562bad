"""The prompt-size estimate: per script, scaled by the vocabulary, and when it is worth asking."""

from __future__ import annotations

import pytest

from core.chat.prompt_size import MESSAGE_OVERHEAD, estimate_tokens, measure, vocab_size
from core.chat.types import ChatMessage
from core.ollama.types import ShowInfo


@pytest.mark.parametrize(("text", "vocab", "tokens"), [
    ("", None, 0),
    ("a" * 4000, None, 1000),  # Latin script: 4 characters a token with a large vocabulary
    ("a" * 3500, 32_000, 1000),  # 3.5 with a 32k one (Llama 2, Mistral)
    ("中" * 1000, 151_936, 700),  # CJK: 0.7 tokens a character with a large vocabulary
    ("中" * 1000, 32_000, 1300),  # 1.3 with a small one (byte fallback)
    ("한국어" * 100, None, 210),  # Hangul counts as CJK
    ("Привет" * 100, None, 240),  # other scripts: 2.5 characters a token
    ("😀" * 100, None, 200),  # beyond the BMP: 2 tokens each
    ("ab中😀", None, 3),  # mixed: 0.5 + 0.7 + 2
])
def test_estimate_by_script_and_vocabulary(text: str, vocab: int | None, tokens: int) -> None:
    assert estimate_tokens(text, vocab) == tokens


def test_a_megabyte_paste_is_about_a_quarter_million_tokens() -> None:
    line = "The model must not see a truncated prompt without the user knowing about it. "
    big = line * (1_000_000 // len(line))
    assert 240_000 < estimate_tokens(big, 128_256) < 260_000


def test_vocabulary_from_show() -> None:
    assert vocab_size(None) is None
    assert vocab_size(ShowInfo(name="m")) is None
    info = ShowInfo(name="m", architecture="qwen3", model_info=(("qwen3.vocab_size", 151_936),))
    assert vocab_size(info) == 151_936
    verbose = ShowInfo(name="m", architecture="llama", model_info=(("tokenizer.ggml.tokens", ["a", "b"]),))
    assert vocab_size(verbose) == 2


def test_what_is_sent_along_counts_and_when_to_ask() -> None:
    system = ChatMessage("system", "b" * 400)
    size = measure("a" * 4000, [system], context=2048)
    assert size.prompt_tokens == 1000 + MESSAGE_OVERHEAD and size.earlier_tokens == 100 + MESSAGE_OVERHEAD
    assert size.fits and not size.worth_asking
    over = measure("a" * 40_000, [system], context=2048)
    assert not over.fits and over.worth_asking
    assert over.sentence("qwen3:8b").startswith(
        "This prompt is about 10,008 tokens (40,000 characters); with what is sent along with it, about "
        "10,116. qwen3:8b runs with a context of 2,048 tokens, so it will not see all of it")
    # A conversation that already overflowed was asked about when it did; a short reply is not.
    long_ago = [ChatMessage("user", "c" * 20_000)]
    assert not measure("thanks", long_ago, context=2048).worth_asking
    assert measure("a" * 10_000, long_ago, context=2048).worth_asking  # this prompt alone does not fit
