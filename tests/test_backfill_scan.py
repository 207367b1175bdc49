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

from staso_otel.targets import backfill_io, jsonl, longlines

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


# A long line is held compacted past longlines.HUGE_LINE: its long strings cut to
# KEEP_STRING and CUT_MARK as it is read. Small sizes here, so that every case (a cut inside
# one read, across reads, several compactions of one line, escapes and multibyte text at
# the cut) happens in a few hundred bytes.
_text = st.one_of(
    st.text(alphabet="ab\u00e9\u4e2d", min_size=0, max_size=120),
    st.text(alphabet='a"\\\n\t\u00e9\u4e2d/', min_size=0, max_size=60),
)
_line = st.builds(
    lambda texts, ascii_only: json.dumps(
        {"type": "x", "parts": texts}, ensure_ascii=ascii_only
    ).encode(),
    st.lists(_text, max_size=6),
    st.booleans(),  # \uXXXX escapes, or UTF-8
)


def test_a_line_past_huge_line_spans_reads():
    """So every such line is seen by `Pending`, whichever read it starts in."""
    assert longlines.HUGE_LINE > jsonl.MAX_READ


def _expected(raw: bytes) -> dict:
    return json.loads(longlines.cut_strings(raw) if len(raw) > longlines.HUGE_LINE else raw)


@settings(max_examples=300, deadline=None)
@given(st.lists(_line, min_size=1, max_size=12), st.sampled_from([5, 16, 40]))
def test_a_long_line_is_read_compacted_and_every_byte_counted(tmp_path_factory, lines, read):
    path = tmp_path_factory.mktemp("long") / "t.jsonl"
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    saved = jsonl.MAX_READ, longlines.HUGE_LINE, longlines.KEEP_STRING
    jsonl.MAX_READ, longlines.HUGE_LINE, longlines.KEEP_STRING = read, 48, 10
    try:
        chunks = list(jsonl.read_chunks(str(path), 0))
        imported, stats = _imported(path)
        expected = [_expected(line) for line in lines]
    finally:
        jsonl.MAX_READ, longlines.HUGE_LINE, longlines.KEEP_STRING = saved
    live = [line for got, _ in chunks for line in got]
    assert live == expected
    assert imported == expected
    # the offsets count the file's bytes, cut or not: where each read left off is a line's end
    ends = {sum(len(line) + 1 for line in lines[: i + 1]) for i in range(len(lines))}
    assert chunks[-1][1] == path.stat().st_size and {o for _, o in chunks} <= ends
    assert stats == {"bytes": path.stat().st_size, "bad_lines": 0}


@settings(max_examples=300, deadline=None)
@given(_line, st.integers(6, 30))  # longer than the keys
def test_a_cut_string_stays_its_text_up_to_the_cut(raw, keep):
    """Whatever the cut meets (an escape, a multibyte character), the line stays JSON and
    each string is its text's start followed by CUT_MARK, or its whole text."""
    saved = longlines.KEEP_STRING
    longlines.KEEP_STRING = keep
    try:
        cut = longlines.cut_strings(raw)
        again = longlines.cut_strings(cut)
    finally:
        longlines.KEEP_STRING = saved
    assert again == cut  # the same cut, however often it is applied
    mark = longlines.CUT_MARK.decode()
    for whole, short in zip(json.loads(raw)["parts"], json.loads(cut)["parts"], strict=True):
        assert short == whole or (short.endswith(mark) and whole.startswith(short[: -len(mark)]))


def test_a_string_of_megabytes_is_cut_as_it_is_read_and_stays_json(tmp_path):
    image = "A" * (3 * longlines.HUGE_LINE)  # a pasted image's base64
    output = "line of a long log\n" * (longlines.HUGE_LINE // 10)  # a command's output
    line = {"type": "user", "message": {"content": [{"type": "image", "data": image}]}}
    path = tmp_path / "session.jsonl"
    path.write_bytes(
        json.dumps(line).encode()
        + b"\n"
        + json.dumps({"type": "output", "output": output}).encode()
        + b'\n{"type":"after"}\n'
    )
    chunks = list(jsonl.read_chunks(str(path), 0))
    got, offset = [line for lines, _ in chunks for line in lines], chunks[-1][1]
    data = got[0]["message"]["content"][0]["data"]
    assert data == "A" * longlines.KEEP_STRING + longlines.CUT_MARK.decode()
    assert len(got[1]["output"]) < longlines.KEEP_STRING + 100 and output.startswith(
        got[1]["output"][: -len(longlines.CUT_MARK)]
    )
    assert got[2] == {"type": "after"} and offset == path.stat().st_size
    imported, _ = _imported(path)
    assert imported == got


# In a fresh interpreter: `head` of the file, and how much its peak RSS grew meanwhile
# (tracemalloc counts orjson's passing allocations at about 13 times the text decoded,
# which the RSS never shows: the process's own peak is what a user pays).
_HEAD_RSS = (
    "import resource, sys\n"
    "from staso_otel.targets.claude_code import backfill as claude\n"
    "from staso_otel.targets.codex import backfill as codex\n"
    "peak = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024\n"
    "before = peak()\n"
    "told = (claude if sys.argv[1] == 'claude' else codex).head(sys.argv[2])\n"
    "print(told.session_id, told.start_ns, peak() - before)\n"
)


def _head_in_a_process(agent: str, path: Path) -> tuple[str, int, float]:
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-c", _HEAD_RSS, agent, str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    session, start, grew = out.stdout.split()
    return session, int(start), float(grew)


def test_a_session_whose_first_line_is_huge_is_told_without_holding_it(tmp_path):
    """`staso import` tells each file's session from its first lines (`head`): a first
    prompt with a pasted image, or a rollout's long instructions, is read as the readers
    read any line, held compacted, where the whole line was held and decoded (its size
    twice at least)."""
    big = "A" * (40 * 1024 * 1024)
    stamp = "2026-11-23T22:00:21.023Z"
    prompt = {
        "type": "user",
        "sessionId": "s-1",
        "message": {"role": "user", "content": [{"type": "image", "data": big}]},
        "timestamp": stamp,  # after the image, as Claude Code writes it
    }
    transcript = tmp_path / "s-1.jsonl"
    transcript.write_text(json.dumps(prompt) + "\n")
    meta = {"id": "t-1", "base_instructions": {"text": big}}
    rollout = tmp_path / "rollout.jsonl"  # no newline after its one line
    rollout.write_text(json.dumps({"type": "session_meta", "timestamp": stamp, "payload": meta}))
    del big, prompt, meta

    session, start, grew = _head_in_a_process("claude", transcript)
    assert (session, start) == ("s-1", jsonl.parse_ts(stamp))
    assert grew < 40, grew  # MB: the line is 40
    session, start, grew = _head_in_a_process("codex", rollout)
    assert (session, start) == ("t-1", jsonl.parse_ts(stamp))
    assert grew < 40, grew
