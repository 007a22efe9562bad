"""Ranged reads of a remote file (`Range: bytes=a-b`, 206 answers), never more than was asked for.

One httpx client for a whole evaluation, its connections shared by the
threads that read in parallel. Redirects are followed (the Hub answers a
resolve URL of a big file with a redirect to its CDN); httpx drops the
Authorization header when a redirect leaves the origin
(`Client._redirect_headers`, httpx/_client.py, httpx 0.28.1), so the token
reaches only the Hub; a test checks it against a stand-in CDN on another
host name.

A mirror that ignores `Range` answers 200 and starts sending the whole
file, 40 GB for a big model: the body is read only up to the bytes asked for
and the connection closed, and the sentence says the mirror cannot do range
reads. A 200 is fine only when the whole file is no longer than what was asked.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import urlsplit

import httpx

from core.discover.types import GATED_NOTE
from core.errors import DiscoverError
from core.redact import header_secrets, redact

READ_TIMEOUT = 30.0
_CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+|\*)$")


class GatedFile(DiscoverError):
    """The Hub refused a file of a gated repo: no licence accepted for this token, or no token."""


class RangeReader:
    """Reads byte ranges of remote files over one shared httpx client (thread-safe)."""

    def __init__(self, headers: Mapping[str, str], *, max_connections: int = 8,
                 transport: httpx.BaseTransport | None = None) -> None:
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
        self._client = httpx.Client(headers=dict(headers), follow_redirects=True, limits=limits,
                                    timeout=READ_TIMEOUT, transport=transport)
        # masked in any sentence an error's text makes, besides the tokens core.redact knows
        self._secrets = header_secrets(headers)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> RangeReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def read(self, url: str, start: int, stop: int, *, name: str) -> tuple[bytes, int | None]:
        """Bytes `start` to `stop` (exclusive) of the file at `url`, and its size where the answer says it.

        Fewer bytes come back only where the file ends first.
        """
        host = urlsplit(url).netloc
        try:
            with self._client.stream("GET", url, headers={"Range": f"bytes={start}-{stop - 1}"}) as r:
                if r.status_code == 206:
                    return _body(r, stop - start), _total(r.headers.get("Content-Range"), start, name, host)
                if r.status_code == 200:
                    return _whole_file(r, start, stop, name, host)
                raise _status_error(r, name, host)
        except httpx.HTTPError as exc:
            why = redact(str(exc), self._secrets).rstrip(".") or type(exc).__name__
            raise DiscoverError(f"Could not read {name} from {host}: {why}.",
                                hint="Check the network, or set HF_ENDPOINT to a mirror.") from None


def _body(response: httpx.Response, limit: int) -> bytes:
    """At most `limit` bytes of the body; the rest is never read (the connection is closed instead)."""
    chunks: list[bytes] = []
    have = 0
    for chunk in response.iter_bytes():
        chunks.append(chunk)
        have += len(chunk)
        if have >= limit:
            break
    body = b"".join(chunks)  # one copy: a 10 MB header arrives in ~150 pieces
    return body if len(body) <= limit else body[:limit]


def _total(content_range: str | None, start: int, name: str, host: str) -> int | None:
    m = _CONTENT_RANGE.match(content_range or "")
    if m is None or int(m[1]) != start:
        raise DiscoverError(f"{host} answered a range read of {name} with other bytes than were asked for "
                            f"({content_range or 'no Content-Range'}).",
                            hint="The mirror's range reads are broken; try huggingface.co or another mirror.")
    return None if m[3] == "*" else int(m[3])


def _whole_file(response: httpx.Response, start: int, stop: int, name: str,
                host: str) -> tuple[bytes, int | None]:
    """A 200 to a ranged GET: the whole file. Kept only where it is no longer than the bytes asked for."""
    length = response.headers.get("Content-Length")
    fits = start == 0 and (length is None or (length.isdigit() and int(length) <= stop))
    body = _body(response, stop + 1) if fits else b""
    if fits and len(body) <= stop:
        return body, len(body)
    size = f" ({int(length):,} bytes)" if length and length.isdigit() else ""
    raise DiscoverError(f"{host} sent the whole of {name}{size} instead of the bytes asked for: the mirror "
                        "does not support range reads, so the header cannot be read without downloading "
                        "the file.",
                        hint="Use a mirror that answers HTTP Range requests (huggingface.co does).")


def _status_error(response: httpx.Response, name: str, host: str) -> DiscoverError:
    status = response.status_code
    code = response.headers.get("X-Error-Code", "")
    if status in (401, 403) or code == "GatedRepo":
        return GatedFile(f"{name}: {GATED_NOTE} ({host} answered {status}).",
                         hint="Accept it on the repo's page, then set HF_TOKEN (or run `hf auth login`).")
    if status == 404:
        return DiscoverError(f"{name} is not on {host} at this revision any more.",
                             hint="List the repo's files again.")
    if status == 416:
        return DiscoverError(f"{name} on {host} is shorter than the file list says.",
                             hint="The upload may have been replaced; list the repo's files again.")
    return DiscoverError(f"{host} answered {status} when {name} was read.",
                         hint="Try again later, or set HF_ENDPOINT to a mirror.")
