"""One remote GGUF's header and tensor table, read with as few range requests and bytes as it can.

The header is at the front of the file, but its length is only known once
the metadata (the vocabulary, mostly) has been parsed. So: read the first
2 MiB, which holds the whole header of a model with a vocabulary up to
~64k tokens; if the parse runs out (core.facts.gguf_header.HeaderIncomplete),
read on to 8 MB, which holds Qwen's 152k and Gemma's 262k vocabularies;
past that, half as much again each time. Every request asks only for the
bytes not yet read.

Within one repo every quant of a model carries the same vocabulary and the
same tensor names, so their headers are the same length to a few bytes:
once one is read, `first=` sizes the others' single request from it
(core.discover.remote_facts does that), one request each.

A header that claims more than MAX_HEADER is refused with a sentence: no
real model comes near it, and a hostile file must not make us download 40 GB.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core.discover.ranges import RangeReader
from core.discover.types import HeaderRead, RemoteFile
from core.errors import DiscoverError, ModelFactsError
from core.facts.gguf_header import GGUFHeader, HeaderIncomplete, parse_header

MIB = 1 << 20
FIRST_READ = 2 * MIB
SECOND_READ = 8_000_000  # where the second request reads to: 8 MB, the budget for one file
MAX_HEADER = 64 * MIB
PART_FIRST_READ = MIB // 2  # later parts of a split model: a tensor table, no vocabulary
SIBLING_MARGIN = 64 << 10  # a sibling quant's header may be a little longer (a longer imatrix file name)


@dataclass(frozen=True)
class RemoteHeader:
    header: GGUFHeader
    read: HeaderRead


def sibling_read(header: GGUFHeader) -> int:
    """How much to read of another quant of the same model at once, from one header already read."""
    return header.data_offset + SIBLING_MARGIN


def next_read(have: int, needed: int) -> int:
    """Where the next request should read to, having `have` bytes and knowing `needed` are not enough."""
    grow = SECOND_READ if have < SECOND_READ else have * 3 // 2
    return max(needed, grow)


def read_remote_header(reader: RangeReader, file: RemoteFile, *, first: int = FIRST_READ) -> RemoteHeader:
    """The header of `file`, read by ranges from its start. Blocking."""
    size = file.size
    data = b""
    want = min(first, size) if size > 0 else first
    requests = 0
    while True:
        chunk, total = reader.read(file.url, len(data), want, name=file.name)
        requests += 1
        if total is not None:
            size = total  # the server's word over the listing's
        elif not size:
            size = len(data) + len(chunk)  # a whole file sent in one answer
        if not chunk:
            raise DiscoverError(f"{file.name} ended after {len(data):,} bytes, in the middle of its header.",
                                hint="The upload may be broken; try another file of the repo.")
        data = data + chunk if data else chunk
        try:
            header = parse_header(data, size, Path(file.path))
        except HeaderIncomplete as more:
            want = min(next_read(len(data), more.needed), size)
            if more.needed > MAX_HEADER:
                raise ModelFactsError(
                    f"{file.name} claims a header of more than {MAX_HEADER // MIB} MiB, which no real model "
                    "has; it was not read further.",
                    hint="The file may be corrupt or not a model.") from None
            want = min(want, MAX_HEADER)
            continue
        return RemoteHeader(header, HeaderRead(requests, len(data)))
