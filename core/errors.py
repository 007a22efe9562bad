"""Typed errors that carry a sentence a user can act on.

Every layer above `core` shows `str(error)` as it is, so the message must be a
complete sentence that says what went wrong and what to do about it. Tracebacks
never reach the screen.
"""

from __future__ import annotations


class LlamadeckError(Exception):
    """Base class: `str(err)` is the user-facing sentence."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(message if hint is None else f"{message} {hint}")


class ConfigError(LlamadeckError):
    """The config file is unreadable, has an unknown key or a bad value."""


class HardwareError(LlamadeckError):
    """A hardware probe failed in a way worth telling the user."""


class OllamaError(LlamadeckError):
    """Anything that went wrong talking to an Ollama server."""


class OllamaUnreachable(OllamaError):
    """Nothing answers at the configured host."""


class ModelNotFound(OllamaError):
    """The server does not have the model that was asked for."""


class StreamError(OllamaError):
    """A stream broke: an error line mid-stream, a dropped connection, a bad line."""


class ServerTimeout(StreamError):
    """The server took longer than llamadeck waits: said as a timeout, and asking again may help."""


class ModelFactsError(LlamadeckError):
    """A GGUF, HF checkpoint or Ollama model could not be read as a model."""


class PipelineError(LlamadeckError):
    """A pipeline stage failed or a pre-flight check did not pass."""


class ChatError(LlamadeckError):
    """A chat request cannot be made as asked (a bad option, an unknown host)."""


class HistoryError(LlamadeckError):
    """The chat history database cannot be read or written."""


class PlannerError(LlamadeckError):
    """The planner was asked something it cannot answer (an unknown quant type, a bad context size)."""


class DiscoverError(LlamadeckError):
    """The Hub (or a mirror, or ModelScope) could not be searched, or a repo's files listed or read."""
