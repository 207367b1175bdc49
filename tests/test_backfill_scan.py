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


# A long line is held compacted past jsonl.HUGE_LINE: its long runs (no quote, backslash or
# newline: only a string holds one) cut to KEEP_RUN and CUT_MARK as it is read. Small sizes
# here, so that every case (a cut inside one read, across reads, several compactions of one
# line, a run of multibyte characters) happens in a few hundred bytes.
_text = st.one_of(
    st.text(alphabet="ab\u00e9\u4e2d", min_size=0, max_size=120),
    st.text(alphabet='a"\\\n\t\u00e9', min_size=0, max_size=40),
)
_line = st.builds(
    lambda texts: json.dumps({"type": "x", "parts": texts}, ensure_ascii=False).encode(),
    st.lists(_text, max_size=6),
)


def test_a_line_past_huge_line_spans_reads():
    """So every such line is seen by `Pending`, whichever read it starts in."""
    assert jsonl.HUGE_LINE > jsonl.MAX_READ


def _expected(raw: bytes) -> dict:
    return json.loads(jsonl.cut_runs(raw) if len(raw) > jsonl.HUGE_LINE else raw)


@settings(max_examples=200, deadline=None)
@given(st.lists(_line, min_size=1, max_size=12), st.sampled_from([5, 16, 40]))
def test_a_long_line_is_read_compacted_and_every_byte_counted(tmp_path_factory, lines, read):
    path = tmp_path_factory.mktemp("long") / "t.jsonl"
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    saved = jsonl.MAX_READ, jsonl.HUGE_LINE, jsonl.KEEP_RUN
    jsonl.MAX_READ, jsonl.HUGE_LINE, jsonl.KEEP_RUN = read, 48, 10
    try:
        chunks = list(jsonl.read_chunks(str(path), 0))
        imported, stats = _imported(path)
        expected = [_expected(line) for line in lines]
    finally:
        jsonl.MAX_READ, jsonl.HUGE_LINE, jsonl.KEEP_RUN = saved
    live = [line for got, _ in chunks for line in got]
    assert live == expected
    assert imported == expected
    # the offsets count the file's bytes, cut or not: where each read left off is a line's end
    ends = {sum(len(line) + 1 for line in lines[: i + 1]) for i in range(len(lines))}
    assert chunks[-1][1] == path.stat().st_size and {o for _, o in chunks} <= ends
    assert stats == {"bytes": path.stat().st_size, "bad_lines": 0}


def test_a_string_of_megabytes_is_cut_as_it_is_read_and_stays_json(tmp_path):
    image = "A" * (3 * jsonl.HUGE_LINE)  # a pasted image's base64
    line = {"type": "user", "message": {"content": [{"type": "image", "data": image}]}}
    raw = json.dumps(line).encode()
    path = tmp_path / "session.jsonl"
    path.write_bytes(raw + b"\n" + b'{"type":"after"}\n')
    ((got, offset),) = list(jsonl.read_chunks(str(path), 0))
    data = got[0]["message"]["content"][0]["data"]
    assert data == "A" * jsonl.KEEP_RUN + jsonl.CUT_MARK.decode()
    assert got[1] == {"type": "after"} and offset == path.stat().st_size
    imported, _ = _imported(path)
    assert imported == got
