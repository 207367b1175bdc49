"""A transcript line longer than one read, held until its newline, and held small. [targets]

Both readers of an agent's JSONL (the live one, `jsonl.read_chunks`, and the import's
scan, `backfill_io.scan`) hold a line whole until its newline and then decode it whole. A
pasted image or PDF is a base64 string of tens of MB in one Claude Code line; a command's
output can be as long in a Codex rollout. Held whole, and copied as it was joined and
split, a 60 MB line took an import to 318 MB.

So past HUGE_LINE bytes a line is held compacted: each JSON string in it longer than
KEEP_STRING bytes is cut to KEEP_STRING (never inside an escape or a UTF-8 sequence) and
CUT_MARK, so the line stays JSON, and the compaction runs again every HUGE_LINE bytes
more. KEEP_STRING is twice the largest cap the export was tested with (1 MiB; 16 KiB by
default; the state keeps twice the cap), so what is sent is the same unless a cap over
1 MiB meets such a text. The readers' offsets still count every byte of the file (`Pending.raw`).
"""

from __future__ import annotations

import re

HUGE_LINE = 4 * 1024 * 1024  # must stay over jsonl.MAX_READ: such a line spans reads
KEEP_STRING = 2 * 1024 * 1024
CUT_MARK = b"...[staso: cut on reading]"

# A string, from its opening quote, its body (escapes whole), and its closing quote if it
# is there (a line held in part may end inside one). Outside strings JSON has no quote, so
# searching from a line's start finds each string in turn. The body as "unrolled" runs:
# an alternation tried byte by byte took 10 s for 30 MB, this 0.09.
_STRING = re.compile(rb'"(?P<body>[^"\\]*(?:\\.[^"\\]*)*)"?')


# A string's body up to the match's end position, ending between two escapes (a \uXXXX
# whole, never cut inside).
_SAFE = re.compile(rb'[^"\\]*(?:(?:\\u[0-9a-fA-F]{4}|\\[^u])[^"\\]*)*')
_MARK = re.compile(re.escape(CUT_MARK))  # where an earlier pass cut


class Pending:
    """The start of a line whose newline is not read yet (a line longer than one read):
    what is held, and how many bytes of the file it stands for."""

    def __init__(self, start: bytes = b"") -> None:
        self.parts = [start] if start else []
        self.held = self.raw = len(start)
        self._compacted = 0  # what was held after the last compaction

    def add(self, data: bytes) -> None:
        self.parts.append(data)  # joined once the line ends, or when compacted
        self.held += len(data)
        self.raw += len(data)
        # every HUGE_LINE bytes more, not at every read: a line of short strings does not
        # shrink, and must not be scanned again at every read
        if self.held - self._compacted > HUGE_LINE:
            joined, self.parts = b"".join(self.parts), []  # the pieces go before the cut
            self.parts = [cut_strings(joined)]
            self.held = self._compacted = len(self.parts[0])

    def lines(self, data: bytes) -> tuple[bytes, int]:
        """What is held and `data` (which holds a newline): whole lines, and `data`'s rest
        after its last newline; and how many more bytes of the file the first line stands
        for than it holds (0: nothing was cut)."""
        if not self.parts:
            return data, 0
        joined, self.parts = b"".join([*self.parts, data]), []
        end = joined.index(b"\n")
        if self.raw == self.held and end <= HUGE_LINE:
            return joined, 0
        pieces = _cut(memoryview(joined)[:end])  # not a copy of the line first
        if pieces is None:  # cut before, when it was held, and no more since
            return joined, self.raw - self.held
        first = b"".join(pieces)
        return first + joined[end:], self.raw + (end - self.held) - len(first)


def cut_strings(data: bytes) -> bytes:
    """`data` (a JSON line, or its start) with every string whose body is longer than
    KEEP_STRING bytes cut to at most that, between two escapes and at a character's first
    byte, and CUT_MARK: the same cut however often it is applied as the line grows."""
    pieces = _cut(memoryview(data))  # the kept parts joined once, not sliced first
    return data if pieces is None else b"".join(pieces)


def _cut(data: memoryview) -> list[bytes | memoryview] | None:
    """cut_strings's pieces, views of `data` and marks; None when no string is cut."""
    keep = KEEP_STRING
    out: list[bytes | memoryview] = []
    last = 0
    for found in _STRING.finditer(data):
        start, end = found.span("body")
        if end - start <= keep:
            continue
        before = _MARK.search(data, start, start + keep + len(CUT_MARK))
        if before is not None:  # cut before (the line is compacted as it grows): the same
            cut = before.start()
        else:
            cut = _SAFE.match(data, start, start + keep).end()  # type: ignore[union-attr]
            while cut > start and 0x80 <= data[cut] < 0xC0:  # not inside a UTF-8 sequence
                cut -= 1
        out += (data[last:cut], CUT_MARK)
        last = end
    if not out:
        return None
    out.append(data[last:])
    return out
