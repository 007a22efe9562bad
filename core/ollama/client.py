"""The Ollama client llamadeck uses: the official `ollama.AsyncClient`, typed results, sentences.

One `OllamaClient` per configured host. Every call returns frozen dataclasses
from `core.ollama.types` and raises only `core.errors` types whose text a user can
act on. Credentials (token, extra headers) go on every request and nowhere
else: not in repr, not in messages, and an `OLLAMA_API_KEY` from the
environment is not sent to a host that was not configured with it.

Made for Textual workers (`@work(exclusive=True)`): every method is a plain
coroutine or async iterator that a cancelled worker can abandon at any await;
cancelling a `pull()` closes its connection, and pulling again resumes.
Quick calls have a short timeout; calls that may wait for a model to load
(pull, load, chat) only time out when the server sends nothing for
`stream_timeout` seconds.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from contextlib import aclosing, asynccontextmanager
from http import HTTPStatus
from typing import Any, cast

import httpx
import pydantic

from core.config import HostConfig
from core.error_log import log_server_answer
from core.errors import ModelNotFound, OllamaError, OllamaUnreachable, ServerTimeout, StreamError
from core.ollama.answers import model_details, show_info
from core.ollama.health import exposure_warning, local_listen_addresses
from core.ollama.host import OllamaEndpoint, endpoint_for
from core.ollama.package import ollama
from core.ollama.pull import PullTracker
from core.ollama.types import LocalModel, PullProgress, RunningModel, ServerHealth, ShowInfo
from core.redact import redact, remember_host
from core.server_text import LIMIT, looks_like_html, short_text

__all__ = ["OllamaClient"]

_NAME_ERRORS = ("Name or service not known", "nodename nor servname", "Temporary failure in name resolution",
                "getaddrinfo failed", "No address associated with hostname")


def _sentence(text: str, limit: int = LIMIT) -> str:
    """One short line of server text: no tags, secrets masked, no full stop to double with ours."""
    return redact(short_text(str(text), limit)).rstrip(".")


class OllamaClient:
    """Talks to one Ollama server. Create it inside the event loop that uses it; `aclose()` at the end."""

    def __init__(self, host: HostConfig, *, timeout: float = 15.0, connect_timeout: float = 5.0,
                 stream_timeout: float | None = 600.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.host = host
        self.endpoint: OllamaEndpoint = endpoint_for(host)
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.stream_timeout = stream_timeout
        self._clock = clock
        remember_host(host)  # its token and headers are masked wherever a server echoes them
        headers = dict(host.headers)
        if host.token:
            headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
            headers["Authorization"] = f"Bearer {host.token}"
        self.has_auth = bool(headers)
        common: dict[str, Any] = {
            "host": self.endpoint.connect_url,
            "headers": headers,
            "verify": host.verify_tls,
            # Like Ollama's own client (Go's ProxyFromEnvironment), never send loopback through a proxy.
            "trust_env": not self.endpoint.is_loopback,
        }
        quick, long = httpx.Timeout(timeout, connect=connect_timeout), httpx.Timeout(stream_timeout,
                                                                                      connect=connect_timeout)
        self._quick = ollama.AsyncClient(timeout=quick, **common)
        self._long = ollama.AsyncClient(timeout=long, **common)
        if not any(k.lower() == "authorization" for k in headers):
            for client in (self._quick, self._long):
                # The official client adds $OLLAMA_API_KEY (meant for ollama.com) to every host.
                client._client.headers.pop("authorization", None)

    def __repr__(self) -> str:
        return f"OllamaClient(name={self.host.name!r}, url={self.url!r})"

    @property
    def name(self) -> str:
        return self.host.name

    @property
    def url(self) -> str:
        """The address requests go to, as shown in every message."""
        return self.endpoint.connect_url

    @property
    def raw(self) -> ollama.AsyncClient:
        """The official client (long timeouts) for calls this class does not wrap, such as chat.

        Wrap its use in `translate_errors(...)` so failures read like the rest.
        """
        return self._long

    async def aclose(self) -> None:
        await self._quick.close()  # type: ignore[no-untyped-call]
        await self._long.close()  # type: ignore[no-untyped-call]

    async def __aenter__(self) -> OllamaClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # ------------------------------------------------------------------ calls

    async def version(self) -> str:
        async with self.translate_errors("asking for its version"):
            # The official client has no version(); /api/version is one GET.
            response = await self._quick._request_raw("GET", "/api/version")  # type: ignore[no-untyped-call]
            data = response.json()
        version = data.get("version") if isinstance(data, dict) else None
        if not isinstance(version, str):
            raise OllamaError(f"{self.url} answered /api/version without a version; is it really Ollama?")
        return version

    async def list_models(self) -> list[LocalModel]:
        async with self.translate_errors("listing models"):
            resp = await self._quick.list()
        return [
            LocalModel(name=m.model or "", size=int(m.size or 0), digest=m.digest or "",
                       modified_at=m.modified_at, details=model_details(m.details))
            for m in resp.models
        ]

    async def running(self) -> list[RunningModel]:
        async with self.translate_errors("listing running models"):
            resp = await self._quick.ps()
        return [
            RunningModel(name=m.model or m.name or "", size=int(m.size or 0), size_vram=int(m.size_vram or 0),
                         digest=m.digest or "", context_length=m.context_length, expires_at=m.expires_at,
                         details=model_details(m.details))
            for m in resp.models
        ]

    async def show(self, name: str) -> ShowInfo:
        async with self.translate_errors(f"showing {name}", model=name):
            resp = await self._quick.show(name)
        return show_info(name, resp)

    async def pull(self, name: str) -> AsyncIterator[PullProgress]:
        """Progress of pulling `name`, one item per server line, ending with status "success".

        Stop iterating (or cancel the task) to cancel: the connection closes and
        Ollama keeps what it downloaded, so pulling again resumes.
        """
        tracker = PullTracker(clock=self._clock)
        last = ""
        async with self.translate_errors(f"pulling {name}", model=name, pulling=True):
            parts = await self._long.pull(name, stream=True)
            stream = cast(AsyncGenerator[ollama.ProgressResponse, None], parts)
            async with aclosing(stream):
                async for part in stream:
                    last = part.status or ""
                    yield tracker.update(last, part.digest, part.total, part.completed)
        if last != "success":
            raise StreamError(
                f"Ollama at {self.url} ended the pull of {name} before it finished "
                f"(last: {last or 'nothing'}).",
                hint="Pulling again resumes where it stopped.",
            )

    async def delete(self, name: str, *, unload_first: bool = True) -> None:
        """Delete a model; first unload it, as `ollama rm` does, so it does not linger in VRAM."""
        if unload_first:
            try:
                await self.unload(name)
            except ModelNotFound:
                pass
        async with self.translate_errors(f"deleting {name}", model=name, missing_hint="`llamadeck ls` lists "
                                         "the models it has."):
            await self._quick.delete(name)

    async def copy(self, source: str, destination: str) -> None:
        async with self.translate_errors(f"copying {source} to {destination}", model=source):
            await self._quick.copy(source, destination)

    async def rename(self, source: str, destination: str) -> None:
        """Ollama has no rename: copy, then delete the old name (blobs are shared, nothing is re-copied)."""
        await self.copy(source, destination)
        await self.delete(source)

    async def load(self, name: str, keep_alive: float | str | None = None) -> None:
        """Load a model into memory (an empty generate); `keep_alive` as Ollama takes it ("10m", -1)."""
        async with self.translate_errors(f"loading {name}", model=name, waits=True):
            await self._long.generate(model=name, keep_alive=keep_alive, stream=False)

    async def unload(self, name: str) -> None:
        """Unload a model now (`keep_alive: 0`); Ollama answers with done_reason "unload"."""
        async with self.translate_errors(f"unloading {name}", model=name):
            await self._quick.generate(model=name, keep_alive=0, stream=False)

    async def listen_addresses(self) -> tuple[str, ...]:
        """Where a local server listens ("0.0.0.0:11434"); () for a remote one or when unknown."""
        if not self.endpoint.is_loopback:
            return ()
        return await asyncio.to_thread(local_listen_addresses, self.endpoint.port)

    async def exposure(self) -> str | None:
        """The warning when anyone on the network can use this server (see ollama_health), else None.

        The one check the Models screen (through `health`) and `llamadeck ls` / `ps` share.
        """
        return exposure_warning(self.endpoint, has_auth=self.has_auth,
                                listen_addresses=await self.listen_addresses())

    async def health(self) -> ServerHealth:
        """Reachable? Which version? Exposed without authentication? Never raises an OllamaError."""
        local = self.endpoint.is_loopback
        listening = await self.listen_addresses()
        try:
            version = await self.version()
        except OllamaError as exc:
            return ServerHealth(host_name=self.name, url=self.url, reachable=False, error=str(exc),
                                is_local=local, listen_addresses=listening)
        return ServerHealth(
            host_name=self.name, url=self.url, reachable=True, version=version, is_local=local,
            listen_addresses=listening,
            exposure_warning=exposure_warning(self.endpoint, has_auth=self.has_auth,
                                              listen_addresses=listening),
        )

    # ------------------------------------------------------------------ errors

    @asynccontextmanager
    async def translate_errors(self, action: str, *, model: str | None = None, pulling: bool = False,
                               missing_hint: str | None = None, waits: bool = False) -> AsyncIterator[None]:
        """Turn whatever the client, httpx or the server throws into a core.errors sentence.

        `action` is a gerund phrase ("pulling llama3.2") used in the messages;
        `model` makes a 404 a ModelNotFound naming it; `waits` says the call ran
        on the long-timeout client (`raw`), so a timeout names `stream_timeout`.
        """
        try:
            yield
        except ollama.ResponseError as exc:
            raise self._response_error(exc, action, model, pulling, missing_hint) from exc
        except ConnectionError as exc:  # the official client's wrapping of httpx.ConnectError
            raise self._connect_error(exc.__context__ or exc) from exc
        except httpx.ConnectTimeout as exc:
            raise OllamaUnreachable(
                f"Ollama at {self.url} did not accept a connection within {self.connect_timeout:g} s.",
                hint="Check the address and any firewall in between.",
            ) from exc
        except httpx.ConnectError as exc:
            raise self._connect_error(exc) from exc
        except httpx.TimeoutException as exc:
            raise self._timeout_error(action, pulling, waits or pulling) from exc
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
            raise StreamError(
                f"The connection to Ollama at {self.url} dropped while {action}.",
                hint="Pulling again resumes where it stopped." if pulling else "Check that Ollama is still "
                "running, then try again.",
            ) from exc
        except json.JSONDecodeError as exc:
            raise StreamError(
                f"Ollama at {self.url} sent a line that is not JSON while {action} "
                f"({redact(exc.doc[:60])!r}); is something other than Ollama answering at that address?"
            ) from exc
        except pydantic.ValidationError as exc:
            raise OllamaError(
                f"Ollama at {self.url} answered {action} with data llamadeck does not understand "
                f"({exc.error_count()} problem(s)); is it really Ollama, and a recent version?"
            ) from exc
        except httpx.HTTPError as exc:
            detail = _sentence(str(exc)) or type(exc).__name__
            raise OllamaError(f"Talking to Ollama at {self.url} failed while {action}: {detail}.") from exc

    def _response_error(self, exc: ollama.ResponseError, action: str, model: str | None, pulling: bool,
                        missing_hint: str | None) -> OllamaError:
        status, text = exc.status_code, _sentence(exc.error)
        if status != -1 and looks_like_html(exc.error) and status not in (502, 503, 504):
            return self._not_ollama(status, exc.error, action)
        if status != -1 and (len(exc.error) > LIMIT or looks_like_html(exc.error)):
            log_server_answer(self.url, status, exc.error)
        if pulling and model and "file does not exist" in text:
            return ModelNotFound(f"Model '{model}' was not found in the Ollama library.",
                                 hint="Check the name and tag at https://ollama.com/library.")
        if model and (status == 404 or (status == -1 and "not found" in text)):
            return ModelNotFound(f"Model '{model}' is not on Ollama at {self.url}.",
                                 hint=missing_hint or f"Pull it with `llamadeck pull {model}`.")
        if status == -1:  # an {"error": ...} line in the middle of a stream, HTTP 200
            return StreamError(
                f"Ollama at {self.url} reported an error while {action}: {text}.",
                hint="Pulling again resumes where it stopped." if pulling else None,
            )
        if status == 404:
            return OllamaError(f"There is no Ollama API at {self.url} (it answered 404).",
                               hint="Check the URL, including the path of a reverse proxy.")
        if status in (401, 403):
            return OllamaError(
                f"Ollama at {self.url} refused the request ({status} {HTTPStatus(status).phrase}).",
                hint=f"Check the token or headers configured for host '{self.name}'.",
            )
        if status in (502, 503, 504):
            return OllamaError(
                f"The proxy in front of Ollama at {self.url} answered {status} {HTTPStatus(status).phrase} "
                f"while {action}.", hint="Ollama behind it is probably not running.",
            )
        if status == 400:
            return OllamaError(f"Ollama at {self.url} refused {action}: {text}.")
        return OllamaError(f"Ollama at {self.url} failed while {action} (HTTP {status}): {text}.")

    def _not_ollama(self, status: int, body: str, action: str) -> OllamaError:
        """An HTML page where Ollama answers JSON: a proxy's or another program's error page."""
        logged = log_server_answer(self.url, status, body)
        try:
            phrase = f" {HTTPStatus(status).phrase}"
        except ValueError:
            phrase = ""
        page = _sentence(body)
        quoted = f' ("{page}")' if page and page.lower() != f"{status}{phrase}".lower() else ""
        where = f"; the whole page is in {logged}" if logged else ""
        return OllamaError(
            f"Something other than Ollama answered at {self.url} while {action}: "
            f"HTTP {status}{phrase} with a web page{quoted}.",
            hint=f"Check the address and port, or the proxy in front of Ollama{where}.",
        )

    def _connect_error(self, exc: BaseException) -> OllamaUnreachable:
        text = str(exc)
        if "CERTIFICATE_VERIFY_FAILED" in text:
            return OllamaUnreachable(
                f"The TLS certificate of {self.url} could not be verified ({_sentence(text, 120)}).",
                hint="Fix the certificate, or set verify_tls = false for this host if you trust the network.",
            )
        if "SSL" in text or "TLS" in text:
            return OllamaUnreachable(f"TLS with {self.url} failed ({_sentence(text, 120)}).",
                                     hint="Check that the address really serves https.")
        if any(marker in text for marker in _NAME_ERRORS):
            return OllamaUnreachable(f"The host name in {self.url} could not be resolved.",
                                     hint="Check the name in the config or in --host.")
        if self.endpoint.is_loopback:
            return OllamaUnreachable(
                f"Ollama is not running at {self.url} - "
                "start it with `ollama serve` or `systemctl start ollama`."
            )
        return OllamaUnreachable(
            f"Nothing answers at {self.url}.",
            hint=f"Check that Ollama runs there with OLLAMA_HOST=0.0.0.0 (by default it listens on 127.0.0.1 "
            f"only) and that no firewall blocks port {self.endpoint.port}.",
        )

    def _timeout_error(self, action: str, pulling: bool, waits: bool) -> ServerTimeout:
        if waits:
            return ServerTimeout(
                f"Timed out: Ollama at {self.url} sent nothing for {self.stream_timeout or 0:g} s "
                f"while {action}.",
                hint="Pulling again resumes where it stopped." if pulling else "A big model can take minutes "
                "to load; asking again waits anew.",
            )
        return ServerTimeout(
            f"Timed out: Ollama at {self.url} did not answer within {self.timeout:g} s while {action}.",
            hint="It may be busy loading a model; try again.",
        )
