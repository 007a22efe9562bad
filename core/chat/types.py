"""Chat options, stats, stream events and stored conversations.

Sizes are bytes unless a name says otherwise.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from core.errors import ChatError

THINK_LEVELS = ("low", "medium", "high")
MESSAGE_STATUSES = ("complete", "streaming", "stopped", "error", "interrupted")


@dataclass(frozen=True)
class ChatMessage:
    """One message as it goes to a model (thinking is kept for the record, never sent back)."""

    role: str  # "system" | "user" | "assistant"
    content: str
    thinking: str = ""


@dataclass(frozen=True)
class ChatOptions:
    """Per-chat settings; None means "whatever the server or model defaults to".

    Names follow Ollama's options so a value means the same on every screen;
    the OpenAI-compatible backend translates the ones it can (num_predict ->
    max_tokens) and leaves out the ones a running llama-server fixes at start
    (num_ctx, keep_alive).
    """

    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    num_ctx: int | None = None
    seed: int | None = None
    repeat_penalty: float | None = None
    num_predict: int | None = None
    stop: tuple[str, ...] = ()
    keep_alive: str | float | None = None  # "5m", seconds, negative = forever, 0 = unload after
    think: bool | str | None = None  # True/False or "low" | "medium" | "high"
    history_limit: int | None = None  # past messages sent with each prompt; None = all

    SAMPLING = ("temperature", "top_p", "top_k", "num_ctx", "seed", "repeat_penalty", "num_predict")

    def __post_init__(self) -> None:
        if isinstance(self.think, str) and self.think not in THINK_LEVELS:
            levels = ", ".join(THINK_LEVELS)
            raise ChatError(f"Thinking must be on, off or one of {levels}, not {self.think!r}.")
        if self.history_limit is not None and self.history_limit < 1:
            raise ChatError(f"The history limit must be at least 1 message, not {self.history_limit}.")

    def sampling(self) -> dict[str, Any]:
        """The set sampling options under their Ollama names (stop included when given)."""
        out: dict[str, Any] = {k: getattr(self, k) for k in self.SAMPLING if getattr(self, k) is not None}
        if self.stop:
            out["stop"] = list(self.stop)
        return out

    def to_json(self) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items()
                if v is not None and v != ()}

    @classmethod
    def from_json(cls, data: Any) -> ChatOptions:
        """Tolerant reader for stored options: unknown or ill-typed keys are dropped, not fatal,
        so a history written by another version still opens."""
        if not isinstance(data, dict):
            return cls()
        kwargs: dict[str, Any] = {}
        for name in cls.__dataclass_fields__:
            if name not in data or data[name] is None:
                continue
            value = data[name]
            if name == "stop":
                if isinstance(value, list) and all(isinstance(s, str) for s in value):
                    kwargs[name] = tuple(value)
            elif name in ("top_k", "num_ctx", "seed", "num_predict", "history_limit"):
                if isinstance(value, int) and not isinstance(value, bool):
                    kwargs[name] = value
            elif name in ("temperature", "top_p", "repeat_penalty"):
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    kwargs[name] = float(value)
            elif name == "keep_alive":
                if isinstance(value, (str, int, float)) and not isinstance(value, bool):
                    kwargs[name] = value
            elif name == "think" and (isinstance(value, bool) or value in THINK_LEVELS):
                kwargs[name] = value
        try:
            return cls(**kwargs)
        except ChatError:
            return cls()


@dataclass(frozen=True)
class ChatStats:
    """The numbers for one reply.

    Token counts and durations come from the server's own counters (Ollama's
    nanosecond durations, llama-server's `timings`), converted to seconds; only
    `ttft_s` and `wall_s` are measured here, from the moment the request left.
    """

    ttft_s: float | None = None  # request sent -> first token of reasoning or answer
    wall_s: float | None = None  # request sent -> last byte
    total_s: float | None = None  # the server's whole-request time (Ollama total_duration)
    load_s: float | None = None  # model load (Ollama load_duration)
    prompt_tokens: int | None = None  # prompt tokens evaluated for this reply
    prompt_s: float | None = None
    cached_tokens: int | None = None  # prompt tokens reused from the server's cache
    output_tokens: int | None = None
    output_s: float | None = None
    done_reason: str | None = None  # "stop", "length", "unload", ...

    @property
    def prompt_tps(self) -> float | None:
        if not self.prompt_tokens or not self.prompt_s or self.prompt_s <= 0:
            return None
        return self.prompt_tokens / self.prompt_s

    @property
    def output_tps(self) -> float | None:
        if not self.output_tokens or not self.output_s or self.output_s <= 0:
            return None
        return self.output_tokens / self.output_s

    @property
    def context_tokens(self) -> int | None:
        """Tokens the conversation now occupies in the context window."""
        if self.prompt_tokens is None and self.output_tokens is None:
            return None
        return (self.prompt_tokens or 0) + (self.cached_tokens or 0) + (self.output_tokens or 0)

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_json(cls, data: Any) -> ChatStats | None:
        if not isinstance(data, dict):
            return None
        kwargs: dict[str, Any] = {}
        for name in cls.__dataclass_fields__:
            value = data.get(name)
            if name == "done_reason":
                if isinstance(value, str):
                    kwargs[name] = value
            elif isinstance(value, (int, float)) and not isinstance(value, bool):
                kwargs[name] = int(value) if name.endswith("_tokens") else float(value)
        return cls(**kwargs)


# Stream events, in the order a reply produces them. A consumer appends
# ContentDelta to the answer and ThinkingDelta to the reasoning block.


@dataclass(frozen=True, slots=True)
class ContentDelta:
    text: str


@dataclass(frozen=True, slots=True)
class ThinkingDelta:
    text: str


@dataclass(frozen=True, slots=True)
class ContentWasThinking:
    """Everything streamed so far as answer was reasoning: move it (`text`) to the thinking block.

    Happens at most once per reply, when a model's template opened `<think>` in
    the prompt and the reply shows only the closing tag.
    """

    text: str


@dataclass(frozen=True, slots=True)
class StreamDone:
    stats: ChatStats


@dataclass(frozen=True, slots=True)
class StreamFailed:
    """The reply ended with an error; whatever arrived is kept.

    `prompt_withdrawn` is True when nothing was generated and the user's prompt
    was taken back out of the conversation: the UI should leave it in the input.
    """

    message: str
    retryable: bool
    prompt_withdrawn: bool = False


ChatEvent = ContentDelta | ThinkingDelta | ContentWasThinking | StreamDone | StreamFailed


@dataclass(frozen=True)
class StoredMessage:
    """A message as the history keeps it.

    `status` is "complete", "stopped" (the user stopped it), "error" (the stream
    broke; `error` says why), "streaming" (being written by this process) or
    "interrupted" (left half-written by a process that died).
    """

    id: int
    session_id: int
    role: str
    content: str
    thinking: str
    status: str
    created_at: float
    updated_at: float
    stats: ChatStats | None = None
    error: str | None = None
    model: str | None = None


@dataclass(frozen=True)
class SessionInfo:
    """One conversation in the session list; `snippet` is set by a search."""

    id: int
    title: str
    model: str
    host: str
    system_prompt: str
    options: ChatOptions
    created_at: float
    updated_at: float
    message_count: int = 0
    snippet: str | None = None
    host_url: str = ""  # the address `host` meant when the chat was held ("" if saved before it was kept)
    host_kind: str = ""  # "ollama" or "openai"
