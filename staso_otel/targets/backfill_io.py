"""What both agents' import synthesisers share: a fast line scan and a time merge. [targets]

`staso import` reads whole transcripts, often gigabytes of them: a line is decoded only
if `wanted(raw)` says so (a substring test costs far less than a JSON decode), MAX_READ
bytes at a time, so memory is one read whatever the file's size (and a long line is held
compacted, as the live reader holds it: `jsonl.raw_lines`). A session's files
(its own and its sub-agents') are merged by time without reading any of them ahead.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from staso_otel.record.journal import Record
from staso_otel.targets import jsonl

Event = tuple[int, dict[str, Any]]  # (time ns, hook payload)


def scan(
    path: str, wanted: Callable[[bytes], bool], stats: dict[str, int]
) -> Iterator[dict[str, Any]]:
    """The JSON objects of the lines `wanted` keeps, in file order, decoded as the live
    reader decodes them (jsonl.loads: what orjson refuses and json reads is read). A line
    that is not JSON is counted in stats["bad_lines"], never fatal; so is a torn last line
    (no newline: a writer killed mid-line), and everything before it is used."""
    rest: list[bytes] = []  # a torn last line: counted bad, as the live reader waits for it
    with jsonl.open_regular(path) as fh:
        for raw in jsonl.raw_lines(fh, counted=stats, rest=rest):
            if not raw or not wanted(raw):
                continue
            line = jsonl.loads(raw)
            if line is None:
                stats["bad_lines"] += 1
            elif isinstance(line, dict):
                yield line
    if b"".join(rest).strip():
        stats["bad_lines"] += 1


def merge(target: str, streams: Iterable[Iterator[Event]]) -> Iterator[Record]:
    """Records of several files' events in time order; at equal times the first stream's
    (the session's own file) first, then file order."""

    def keyed(stream: int, events: Iterator[Event]) -> Iterator[tuple[int, int, int, dict]]:
        for n, (t, payload) in enumerate(events):
            yield t, stream, n, payload

    merged = heapq.merge(*(keyed(i, events) for i, events in enumerate(streams)))
    for t, _, _, payload in merged:
        yield Record(target, t, payload)
