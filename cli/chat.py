"""`llamadeck chat MODEL PROMPT`: one streamed reply on stdout, for scripts and quick checks.

The answer goes to stdout as it arrives (flushed per chunk, so a pipe sees it
live); reasoning goes to stderr the way `ollama run` shows it, or nowhere with
--hide-thinking; --verbose adds the `ollama run --verbose` numbers on stderr.
The exchange is saved to the chat history like one made in the app, and
Ctrl-C stops the reply but keeps what arrived (exit 130). Until the first
piece arrives (a big model can take minutes to load), stderr says how long
the server has been silent, so a wait never looks like a hang.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Callable
from typing import Any, TextIO

from cli.args import add_host_argument
from cli.wait_notice import WaitNotice, wait_notice
from core.chat.backend_for import backend_for
from core.chat.backends import request_messages
from core.chat.history import HistoryStore
from core.chat.host import host_for_session
from core.chat.prompt_size import SMALL_VOCABULARY, SMALLEST_CONTEXT, measure, vocab_size
from core.chat.session import ChatSession, ReplyStream
from core.chat.stats import context_warning, verbose_lines
from core.chat.types import (
    THINK_LEVELS,
    ChatOptions,
    ContentDelta,
    ContentWasThinking,
    StoredMessage,
    StreamFailed,
    ThinkingDelta,
)
from core.config import HostConfig, Settings
from core.errors import ChatError, LlamadeckError
from core.ollama.client import OllamaClient
from core.ollama.host import select_host
from core.redact import redact
from core.waiting import elapsed_text

EXIT_STOPPED = 130
_TRUE = ("true", "on", "yes", "1")
_FALSE = ("false", "off", "no", "0")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "chat",
        help="stream one reply from a model to stdout (saved to the chat history)",
        description="Send PROMPT to MODEL and stream the answer to stdout; reasoning and stats go to "
                    "stderr. The conversation is saved to the chat history.",
    )
    parser.add_argument("model", help="model name, e.g. qwen3:8b")
    parser.add_argument("prompt", help='the message; "-" reads it from stdin')
    add_host_argument(parser, "a [hosts.NAME] from the config or a server URL (default: the default host)")
    parser.add_argument("--api", choices=("ollama", "openai"),
                        help="protocol of a --host URL (default: openai for a URL ending in /v1, "
                             "else ollama)")
    parser.add_argument("--system", metavar="TEXT", help="system prompt")
    parser.add_argument("--think", nargs="?", const=True, type=_think, metavar="LEVEL",
                        help=f"ask for reasoning: on, off or a level ({', '.join(THINK_LEVELS)})")
    parser.add_argument("--hide-thinking", action="store_true", help="do not print the reasoning")
    parser.add_argument("--verbose", action="store_true", help="print timings and token rates to stderr")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object with the reply and its stats at the end, "
                             "instead of streaming")
    parser.add_argument("--continue", dest="session", type=int, metavar="ID",
                        help="add to conversation ID from the history instead of starting a new one")
    parser.add_argument("--force", action="store_true",
                        help="send a prompt even when it looks longer than the model's context "
                             "(refused otherwise)")
    opts = parser.add_argument_group("model options (server defaults when not given)")
    opts.add_argument("--temperature", type=float)
    opts.add_argument("--top-p", type=float)
    opts.add_argument("--top-k", type=int)
    opts.add_argument("--num-ctx", type=int, help="context length (Ollama)")
    opts.add_argument("--seed", type=int)
    opts.add_argument("--repeat-penalty", type=float)
    opts.add_argument("--num-predict", type=int, help="most tokens to generate")
    opts.add_argument("--stop", action="append", default=[], metavar="TEXT",
                      help="stop sequence (repeatable)")
    opts.add_argument("--keep-alive", metavar="DURATION",
                      help='how long Ollama keeps the model loaded ("5m", "0")')
    opts.add_argument("--history-limit", type=int, metavar="N", help="send at most N past messages")
    parser.set_defaults(func=main)


def _think(text: str) -> bool | str:
    value = text.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    if value in THINK_LEVELS:
        return value
    raise argparse.ArgumentTypeError(f"expected on, off or one of {', '.join(THINK_LEVELS)}, not {text!r}")


def resolve_host(settings: Settings, name_or_url: str | None, api: str | None = None) -> HostConfig:
    """A configured host by name, else an address.

    An address ending in /v1 (or with --api openai) is an OpenAI-compatible
    server; any other is read with the OLLAMA_HOST rules (`box:11434`,
    `http://box` -> port 80). A bare word that names no configured host is an
    error rather than a guess at a hostname: it is usually a typo.
    """
    wanted = (name_or_url or "").strip()
    if not wanted or any(h.name == wanted for h in settings.hosts):
        return select_host(settings, wanted or None)
    if "://" not in wanted and not any(c in wanted for c in ".:[") and wanted != "localhost":
        known = ", ".join(h.name for h in settings.hosts) or "none"
        raise ChatError(f"There is no host named {wanted!r} in the config (known: {known}); "
                        "pass an address such as 127.0.0.1:11434 or add a [hosts.NAME] table.")
    if api == "openai" or (api is None and wanted.rstrip("/").endswith("/v1")):
        url = (wanted if "://" in wanted else f"http://{wanted}").rstrip("/")
        return HostConfig(name=url, url=url, kind="openai")
    return select_host(settings, wanted)


def options_from(args: argparse.Namespace) -> ChatOptions:
    keep_alive: str | float | None = args.keep_alive
    if isinstance(keep_alive, str):
        try:
            keep_alive = float(keep_alive)
        except ValueError:
            pass
    return ChatOptions(
        temperature=args.temperature, top_p=args.top_p, top_k=args.top_k, num_ctx=args.num_ctx,
        seed=args.seed, repeat_penalty=args.repeat_penalty, num_predict=args.num_predict,
        stop=tuple(args.stop), keep_alive=keep_alive, think=args.think, history_limit=args.history_limit,
    )


def main(args: argparse.Namespace, settings: Settings) -> int:
    prompt = sys.stdin.read() if args.prompt == "-" else args.prompt
    return asyncio.run(run(args, settings, prompt, out=sys.stdout, err=sys.stderr))


class _Printer:
    """Where each event goes: answer to stdout, reasoning to stderr, like `ollama run`."""

    def __init__(self, out: TextIO, err: TextIO, *, show_thinking: bool, quiet: bool) -> None:
        self.out = out
        self.err = err
        self.show_thinking = show_thinking and not quiet
        self.quiet = quiet
        self.thinking_open = False
        self.last = ""

    def show(self, event: object) -> None:
        if self.quiet:
            return
        if isinstance(event, ThinkingDelta) and self.show_thinking:
            if not self.thinking_open:
                self.err.write("Thinking...\n")
                self.thinking_open = True
            self.err.write(event.text)
            self.err.flush()
        elif isinstance(event, ContentDelta):
            self._close_thinking()
            self.out.write(event.text)
            self.out.flush()
            self.last = event.text
        elif isinstance(event, ContentWasThinking):
            self.err.write("\nllamadeck: the text above was the model's reasoning; the answer follows.\n")
            self.err.flush()

    def _close_thinking(self) -> None:
        if self.thinking_open:
            self.err.write("\n...done thinking.\n\n")
            self.err.flush()
            self.thinking_open = False

    def end(self) -> None:
        if self.quiet:
            return
        self._close_thinking()
        if self.last and not self.last.endswith("\n"):
            self.out.write("\n")
        self.out.flush()


async def run(args: argparse.Namespace, settings: Settings, prompt: str, *, out: TextIO, err: TextIO,
              notice: Callable[[TextIO], WaitNotice] = wait_notice) -> int:
    if not prompt.strip():
        raise ChatError("The prompt is empty; pass it as an argument or on stdin with \"-\".")
    host = resolve_host(settings, args.host, args.api)
    options = options_from(args)
    store = HistoryStore.open()
    if store.notice:
        err.write(f"llamadeck: {store.notice}\n")
    if args.session is not None:
        try:
            choice = host_for_session(store.session(args.session), host, settings, explicit=bool(args.host))
        except BaseException:
            store.close()
            raise
        host = choice.host
        if choice.notice:
            err.write(f"llamadeck: {choice.notice}\n")
    backend = backend_for(host)
    try:
        if not args.force:
            await _refuse_oversize(args, host, store, prompt, options)
        if args.session is not None:
            session = ChatSession.resume(store, backend, args.session)
            session.configure(model=args.model, system_prompt=args.system,
                              options=options if options != ChatOptions() else None)
        else:
            session = ChatSession.start(store, backend, model=args.model, system_prompt=args.system or "",
                                        options=options)
        reply = session.send(prompt)
        printer = _Printer(out, err, show_thinking=not args.hide_thinking, quiet=args.json)
        failed: StreamFailed | None = None
        waiting = notice(err)
        waiting.start()
        consumer = asyncio.create_task(_print_reply(reply, printer, waiting))
        try:
            failed = await _until_done(consumer, backend, reply)
        except BrokenPipeError:  # `... | head`: the reader left; stop generating, keep what came
            os.dup2(os.open(os.devnull, os.O_WRONLY), out.fileno())
            return 0
        finally:
            waiting.stop()
        printer.end()
        kept = True
        if failed is not None and failed.prompt_withdrawn and not session.messages():
            store.delete_session(session.id)  # nothing was said: no empty conversation in the list
            kept = False
        return _report(args, session, reply, failed, kept=kept, out=out, err=err, waited=waiting.elapsed())
    finally:
        await backend.aclose()
        store.close()


# How long a Ctrl-C waits for the reply to stop before it closes the connection under it.
STOP_GRACE = 3.0


async def _print_reply(reply: ReplyStream, printer: _Printer, waiting: WaitNotice) -> StreamFailed | None:
    failed: StreamFailed | None = None
    async with reply:
        async for event in reply:
            waiting.stop()
            if isinstance(event, StreamFailed):
                failed = event
            printer.show(event)
    return failed


async def _until_done(consumer: asyncio.Task[StreamFailed | None], backend: Any,
                      reply: ReplyStream) -> StreamFailed | None:
    """The reply's result; on Ctrl-C (asyncio.run cancels us) the reply stops for certain.

    The cancel reaches the read deep in the HTTP stack. Should it be lost
    there (once, in a CI run, a Ctrl-C left the CLI waiting on a silent
    stream), closing the connection after STOP_GRACE ends the read anyway,
    and what arrived is saved as stopped either way.
    """
    try:
        await asyncio.wait({consumer})
    except asyncio.CancelledError:
        consumer.cancel()
        done, _ = await asyncio.wait({consumer}, timeout=STOP_GRACE)
        if not done:
            await backend.aclose()
            await asyncio.wait({consumer}, timeout=STOP_GRACE)
        if consumer.done() and not consumer.cancelled():
            consumer.exception()  # retrieved: a read ended by the close is not news after a Ctrl-C
        if reply.status == "streaming":
            await reply.aclose()
        return None
    return consumer.result()


async def _refuse_oversize(args: argparse.Namespace, host: HostConfig, store: HistoryStore, prompt: str,
                           options: ChatOptions) -> None:
    """Refuse, before anything is sent or saved, a prompt the model's context cannot hold (--force sends it).

    Refused rather than warned about: in a script nobody reads stderr in time,
    and a cut prompt gives a confident answer to a question that was not asked.
    """
    system = args.system or ""
    history: list[StoredMessage] = []
    if args.session is not None:
        info = store.session(args.session)
        system = info.system_prompt if args.system is None else system
        options = options if options != ChatOptions() else info.options
        history = store.messages(args.session)
    earlier = request_messages(system, history, options.history_limit)
    if measure(prompt, earlier, options.num_ctx or SMALLEST_CONTEXT, SMALL_VOCABULARY).fits:
        return  # fits even counted the costly way: no need to ask the server anything
    context, vocab = options.num_ctx, None
    if host.kind == "ollama":
        context, vocab = await _context_of(host, args.model, context)
    if not context:
        return  # unknown (an OpenAI-compatible server without --num-ctx): nothing honest to say
    size = measure(prompt, earlier, context, vocab)
    if size.worth_asking:
        raise ChatError(f"{size.sentence(args.model)} Nothing was sent; pass --force to send it anyway, "
                        "or --num-ctx for a larger context.")


async def _context_of(host: HostConfig, model: str, num_ctx: int | None) -> tuple[int | None, int | None]:
    """The context a request will get (num_ctx, else the loaded model's, else the trained one) and the
    vocabulary size; (num_ctx, None) when the server cannot say (the chat then reports why)."""
    try:
        async with OllamaClient(host) as client:
            info = await client.show(model)
            context = num_ctx
            if not context:
                loaded = [r.context_length for r in await client.running() if r.name == info.name]
                context = next((c for c in loaded if c), None) or info.context_length
    except LlamadeckError:
        return num_ctx, None
    return context, vocab_size(info)


def _report(args: argparse.Namespace, session: ChatSession, reply: ReplyStream, failed: StreamFailed | None,
            *, kept: bool, out: TextIO, err: TextIO, waited: float = 0.0) -> int:
    if args.json:
        result: dict[str, Any] = {
            "session": session.id if kept else None,
            "model": session.info.model, "host": session.backend.host.name,
            "status": reply.status, "content": reply.content, "thinking": reply.thinking,
            "stats": reply.stats.to_json() if reply.stats else None,
        }
        if failed is not None:
            result["error"] = failed.message
            result["retryable"] = failed.retryable
        out.write(json.dumps(result, ensure_ascii=False) + "\n")
        out.flush()
    if failed is not None:
        err.write(f"llamadeck: {redact(failed.message)}\n")
        if reply.content or reply.thinking:
            err.write(f"llamadeck: the partial reply is saved in conversation {session.id}.\n")
        return 1
    if reply.status == "stopped" and not (reply.content or reply.thinking):
        err.write(f"llamadeck: stopped after waiting {elapsed_text(waited)} for the server; nothing arrived. "
                  f"The prompt is saved in conversation {session.id}.\n")
        return EXIT_STOPPED
    if reply.status == "stopped":
        err.write(f"llamadeck: stopped; the partial reply is saved in conversation {session.id}.\n")
        return EXIT_STOPPED
    if args.verbose and reply.stats is not None and not args.json:
        err.write("\n" + "\n".join(verbose_lines(reply.stats)) + "\n")
        warning = context_warning(reply.stats, session.info.options.num_ctx)
        if warning:
            err.write(f"llamadeck: {warning}\n")
    err.flush()
    return 0
