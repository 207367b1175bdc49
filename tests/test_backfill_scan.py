"""`staso import` reads a transcript's lines as the live path reads them.

The import's scan (targets/backfill_io.py) and the live transcript reader (targets/jsonl.py
`read_chunks`) must give the same JSON objects for the same file: a line orjson refuses but
the standard library reads (a lone surrogate escape, a number beyond a double), a line
longer than one read, lines that are no object or no JSON, and a torn last line.
"""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from staso_otel.targets import backfill_io, jsonl

LONG = 2 * jsonl.MAX_READ + 12345  # crosses two read boundaries


def _live(path: Path) -> list[dict]:
    return [line for lines, _ in jsonl.read_chunks(str(path), 0) for line in lines]


def _imported(path: Path) -> tuple[list[dict], dict[str, int]]:
    stats = {"bytes": 0, "bad_lines": 0}
    return list(backfill_io.scan(str(path), lambda raw: True, stats)), stats


def test_what_the_live_reader_reads_the_import_reads(tmp_path):
    lines = [
        b'{"type":"session_meta","payload":{"id":"s1"}}',
        b'{"type":"event_msg","payload":{"message":"half a pair: \\ud83d here"}}',
        b'{"type":"event_msg","payload":{"tokens":1e999}}',
        json.dumps({"type": "response_item", "payload": {"output": "x" * LONG}}).encode(),
        b"not json at all",
        b"[1, 2, 3]",
        b'{"type":"event_msg","payload":{"message":"after the long line"}}',
    ]
    path = tmp_path / "rollout.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n" + b'{"type":"torn')
    live = _live(path)
    imported, stats = _imported(path)
    assert len(live) == 5
    assert imported == live
    assert imported[1]["payload"]["message"] == "half a pair: \ud83d here"
    assert len(imported[3]["payload"]["output"]) == LONG
    assert stats == {"bytes": path.stat().st_size, "bad_lines": 2}  # not json; the torn one


_piece = st.one_of(
    st.just(b"\n"),
    st.binary(min_size=0, max_size=40).filter(lambda b: b"\n" not in b),
    st.builds(lambda n: json.dumps({"k": "v" * n}).encode(), st.integers(0, 3000)),
    st.sampled_from([b'{"a":"\\udc00"}', b'{"n":-1e400}', b"{}", b'{"x":', b"\r"]),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(_piece, max_size=30), st.sampled_from([7, 64, 1000]))
def test_any_bytes_cut_at_any_read_size_read_alike(tmp_path_factory, pieces, read_size):
    path = tmp_path_factory.mktemp("scan") / "t.jsonl"
    path.write_bytes(b"".join(pieces))
    old = jsonl.MAX_READ
    jsonl.MAX_READ = read_size  # many reads, lines across them
    try:
        live = _live(path)
        imported, stats = _imported(path)
    finally:
        jsonl.MAX_READ = old
    assert imported == live
    assert stats["bytes"] == path.stat().st_size
