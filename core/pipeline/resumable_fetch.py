"""One file from the Hub into a folder, resumable across runs: the bytes so far stay in a `.part` file.

huggingface_hub (2.x) writes each download to a process-unique temporary
file and deletes it when the download is interrupted, so a cancelled 20 GB
GGUF would start over (core.pipeline.hf_download says so for checkpoints).
Here the partial file stays beside its destination, named after the
content's sha256 so a part of another revision is never continued; the next
run asks for the bytes from its end (`Range: bytes=N-`): a 206 continues it,
a 200 (a server that ignores ranges) starts it over. The caller checks the
finished part against the Hub's size and sha256 before giving it its name.

Redirects are followed (the Hub sends big files to its CDN); httpx drops the
Authorization header when a redirect leaves the origin
(`Client._redirect_headers`, httpx 0.28.1), so the token reaches only the Hub.
"""

from __future__ import annotations

import glob
import re
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from urllib.parse import quote, urlsplit

import httpx

from core.errors import PipelineError
from core.redact import header_secrets, redact

REPORT_EVERY = 1 << 20  # bytes between progress reports (a cancel is seen at every piece that arrives)
CONNECT_TIMEOUT = 30.0
READ_TIMEOUT = 60.0  # a stalled CDN: the job fails with a sentence, and a rerun resumes
_CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+|\*)$")
RESUME_HINT = "The bytes so far are kept; run the job again to resume."


class FetchCancelled(PipelineError):
    """Raised in the fetching thread when the job is cancelled; the part file stays for a resume."""


def part_path(dest: Path, sha256: str | None) -> Path:
    """Where the bytes of `dest` gather until they are checked: one name per content."""
    return dest.with_name(f"{dest.name}.{(sha256 or 'unhashed')[:12]}.part")


def file_url(endpoint: str, repo_id: str, revision: str, path: str) -> str:
    return f"{endpoint.rstrip('/')}/{repo_id}/resolve/{quote(revision, safe='')}/{quote(path)}"


def drop_stale_parts(dest: Path, keep: Path) -> None:
    """Parts of `dest` from another revision: they can never be continued."""
    for stale in dest.parent.glob(f"{glob.escape(dest.name)}.*.part"):
        if stale != keep:
            stale.unlink(missing_ok=True)


def fetch(url: str, part: Path, size: int | None, headers: Mapping[str, str], *, name: str,
          progress: Callable[[int, bool], None], stop: threading.Event) -> None:
    """Bring `part` up to the whole file `name` at `url` (`size` bytes where known). Blocking, for a thread.

    `progress(bytes_of_this_file, resumed)` reports the bytes on disk; `resumed`
    marks a jump that is not transfer (the part found at the start, or dropped).
    """
    have = part.stat().st_size if part.exists() else 0
    if size is not None and have > size:
        part.unlink()
        have = 0
    progress(have, True)
    if size is not None and have == size:
        return
    host = urlsplit(url).netloc
    timeout = httpx.Timeout(READ_TIMEOUT, connect=CONNECT_TIMEOUT)
    try:
        with httpx.Client(headers=dict(headers), follow_redirects=True, timeout=timeout) as client, \
                client.stream("GET", url, headers={"Range": f"bytes={have}-"} if have else {}) as r:
            have = _start(r, have, name, host)
            progress(have, True)
            reported = have
            with part.open("ab" if have else "wb") as out:
                for chunk in r.iter_bytes():  # as the bytes arrive: a dropped link loses none
                    if stop.is_set():
                        raise FetchCancelled("The download was cancelled.")
                    out.write(chunk)
                    have += len(chunk)
                    if have - reported >= REPORT_EVERY:
                        progress(have, False)
                        reported = have
            progress(have, False)
    except httpx.HTTPError as exc:
        why = redact(str(exc), header_secrets(headers)).rstrip(".") or type(exc).__name__
        raise PipelineError(f"The download of {name} from {host} broke off: "
                            f"{why}.", hint=RESUME_HINT) from None
    if size is not None and have != size:
        raise PipelineError(f"{host} sent {have:,} of the {size:,} bytes of {name}.", hint=RESUME_HINT)


def _start(response: httpx.Response, have: int, name: str, host: str) -> int:
    """Where the body of `response` starts in the file: `have` for a 206, 0 for a 200 (starting over)."""
    status = response.status_code
    if status == 206:
        m = _CONTENT_RANGE.match(response.headers.get("Content-Range", ""))
        if m is None or int(m[1]) != have:
            raise PipelineError(f"{host} answered the resume of {name} with other bytes than were asked "
                                f"for ({response.headers.get('Content-Range') or 'no Content-Range'}).",
                                hint="Delete the .part file to start over, or try another mirror.")
        return have
    if status == 200:
        return 0  # the whole file again: written over the part
    code = response.headers.get("X-Error-Code", "")
    if status in (401, 403) or code == "GatedRepo":
        raise PipelineError(f"{host} refused {name} ({status}): the repo is gated or private.",
                            hint="Accept its licence on the Hub, then set HF_TOKEN (or run `hf auth login`).")
    if status == 404:
        raise PipelineError(f"The file for {name} is not on {host} at this revision any more.",
                            hint="List the repo's files again and pick it anew.")
    raise PipelineError(f"{host} answered {status} to the download of {name}.",
                        hint="Try again later, or set HF_ENDPOINT to a mirror. " + RESUME_HINT)
