"""A transcript read the way the worker reads it, counting what the reader decodes: the
pass-over tests of each agent's reader compare such reads with and without the pass-over."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson

from staso_otel.targets import jsonl
from staso_otel.turns.state import MAX_TEXT


@contextlib.contextmanager
def counting_decodes() -> Iterator[list[bytes]]:
    """Every line the readers decode while inside, in order."""
    decoded: list[bytes] = []
    real = jsonl.loads

    def counting(raw: bytes) -> Any:
        decoded.append(raw)
        return real(raw)

    jsonl.loads = counting
    try:
        yield decoded
    finally:
        jsonl.loads = real


def read_turn_by_turn(
    path: Path,
    ingest: Callable[..., None],
    unused: Callable[[dict], Callable[[bytes], bool]] | None = None,
) -> tuple[dict, dict, int]:
    """(facts, file state, bytes decoded) of the whole file read turn by turn: each read
    stops a little past a horizon, as the worker's reads do. `unused` makes the reader's
    pass-over predicate for a file state (None: nothing passed over)."""
    fstate: dict = {"off": 0}
    facts: dict = {}
    stamps = sorted(
        {
            jsonl.parse_ts(orjson.loads(r).get("timestamp")) or 0
            for r in path.read_bytes().splitlines()
        }
    )
    skip = unused(fstate) if unused is not None else None
    with counting_decodes() as decoded:
        for until in [*stamps[:: max(len(stamps) // 7, 1)], None]:  # a few horizons, then all
            for lines, end in jsonl.read_chunks(str(path), fstate["off"], until, skip):
                ingest(fstate, lines, facts, most=MAX_TEXT)
                fstate["off"] = end
    return facts, fstate, sum(map(len, decoded))
