"""Will a prompt fit the model's context? An honest estimate, before anything is sent.

The exact count needs the model's tokenizer, which Ollama does not expose
(`/api/show` leaves the vocabulary out unless asked for megabytes of it, and
there is no tokenize endpoint). What it does give is the vocabulary's size
(`<arch>.vocab_size`), and that, with the script the text is written in,
decides most of the ratio:

- Latin-script text and code: about 4 characters a token with a large
  vocabulary (Llama 3 128k, Qwen 152k, Gemma 256k), about 3.5 with a 32k one
  (Llama 2, Mistral 7B).
- Chinese, Japanese and Korean: about 0.7 tokens a character with a large
  vocabulary, about 1.3 with a 32k one (many characters fall back to bytes).
- Other scripts (Cyrillic, Greek, Arabic, accented Latin): about 2.5 and 1.5
  characters a token.
- Emoji and other characters beyond the BMP: 2 and 3 tokens each.
- Each message adds a few template tokens (role markers): 8 counted.

These are typical figures for BPE tokenizers, not a count: expect the
estimate to be off by a fifth or so either way on ordinary text, which is
enough to tell a prompt four times the context from one that fits. With an
unknown vocabulary the large-vocabulary ratios are used (every current model
family has one), which errs towards not asking.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from core.chat.types import ChatMessage
from core.ollama.types import ShowInfo

LARGE_VOCABULARY = 64_000  # from here on, the large-vocabulary ratios apply
SMALL_VOCABULARY = 32_000  # counts the costly way: an upper bound when the vocabulary is not known yet
MESSAGE_OVERHEAD = 8  # role markers and separators a chat template adds per message
SMALLEST_CONTEXT = 2048  # no server runs a chat model with less unless told to (Ollama's oldest default)


@dataclass(frozen=True)
class _Ratios:
    latin_chars_per_token: float
    cjk_tokens_per_char: float
    other_chars_per_token: float
    astral_tokens_per_char: float


_LARGE = _Ratios(4.0, 0.7, 2.5, 2.0)
_SMALL = _Ratios(3.5, 1.3, 1.5, 3.0)

_CJK = re.compile("[\u1100-\u11ff\u2e80-\u2fdf\u3000-\u303f\u3040-\u30ff\u3100-\u31ff\u3400-\u4dbf"
                  "\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]")
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


def estimate_tokens(text: str, vocab_size: int | None = None) -> int:
    """About how many tokens `text` is for a model with `vocab_size` tokens (see the module's notes)."""
    if not text:
        return 0
    ratios = _SMALL if vocab_size is not None and vocab_size < LARGE_VOCABULARY else _LARGE
    ascii_chars = len(text.encode("ascii", "ignore"))
    cjk = _CJK.subn("", text)[1] if ascii_chars < len(text) else 0
    astral = _ASTRAL.subn("", text)[1] if ascii_chars + cjk < len(text) else 0
    other = len(text) - ascii_chars - cjk - astral
    tokens = (ascii_chars / ratios.latin_chars_per_token + cjk * ratios.cjk_tokens_per_char
              + other / ratios.other_chars_per_token + astral * ratios.astral_tokens_per_char)
    return max(1, round(tokens))


def vocab_size(info: ShowInfo | None) -> int | None:
    """The vocabulary size from /api/show's model_info, when the model says."""
    if info is None or not info.architecture:
        return None
    value = info.info(f"{info.architecture}.vocab_size")
    if isinstance(value, int) and value > 0:
        return value
    tokens = info.info("tokenizer.ggml.tokens")  # only with /api/show's verbose answer
    return len(tokens) if isinstance(tokens, list) and tokens else None


@dataclass(frozen=True)
class PromptSize:
    """The estimate for one request: the new prompt, everything sent with it, and the context it meets."""

    prompt_chars: int
    prompt_tokens: int
    earlier_tokens: int  # the system prompt and the conversation sent along
    context: int

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.earlier_tokens

    @property
    def fits(self) -> bool:
        return self.total_tokens <= self.context

    @property
    def worth_asking(self) -> bool:
        """Does not fit, and this prompt is what makes it so.

        A conversation that already overflowed was asked about when it did;
        asking again at every short reply would teach people to press "yes".
        """
        return not self.fits and (self.earlier_tokens <= self.context or self.prompt_tokens > self.context)

    def sentence(self, model: str) -> str:
        """What the user reads before deciding, without the question itself."""
        prompt = f"This prompt is about {self.prompt_tokens:,} tokens ({self.prompt_chars:,} characters)"
        if self.earlier_tokens:
            prompt += f"; with what is sent along with it, about {self.total_tokens:,}"
        return (f"{prompt}. {model} runs with a context of {self.context:,} tokens, so it will not see "
                "all of it: the server cuts (or refuses) what does not fit. (An estimate from the text's "
                "length and script, and the model's vocabulary.)")


def measure(prompt: str, earlier: Sequence[ChatMessage], context: int,
            vocab: int | None = None) -> PromptSize:
    """The estimate for sending `prompt` after `earlier` (system prompt and history, as sent)."""
    earlier_tokens = sum(estimate_tokens(m.content, vocab) + MESSAGE_OVERHEAD for m in earlier)
    prompt_tokens = estimate_tokens(prompt, vocab) + MESSAGE_OVERHEAD
    return PromptSize(prompt_chars=len(prompt), prompt_tokens=prompt_tokens, earlier_tokens=earlier_tokens,
                      context=context)
