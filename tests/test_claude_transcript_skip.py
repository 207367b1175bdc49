"""The Claude Code transcript reader passes over, undecoded, the lines it never reads.

Attachments and the request shapes and blobs are most of a transcript's bytes and none
of its facts: every recorded transcript must give the same facts read with and without
the pass-over, while decoding far fewer bytes; a line the reader does read is never
passed over, whatever it holds.
"""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from staso_otel.targets import jsonl
from staso_otel.targets.claude_code import transcript
from staso_otel.turns.state import MAX_TEXT

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "claude-code"
TRANSCRIPTS = sorted(FIXTURES.glob("*/projects/**/*.jsonl"))


def _facts(path: Path, unused) -> tuple[dict, dict, int]:
    """(facts, file state, bytes decoded) of the whole file read turn by turn: each read
    stops past the first prompt it has not reached yet, as the worker's reads do."""
    decoded = 0
    real = jsonl._loads

    def counting(raw: bytes):
        nonlocal decoded
        decoded += len(raw)
        return real(raw)

    jsonl._loads = counting
    try:
        fstate: dict = {"off": 0}
        facts: dict = {}
        stamps = sorted(
            {
                jsonl.parse_ts(orjson.loads(r).get("timestamp")) or 0
                for r in path.read_bytes().splitlines()
            }
        )
        for until in [*stamps[:: max(len(stamps) // 7, 1)], None]:  # a few horizons, then all
            for lines, end in jsonl.read_chunks(str(path), fstate["off"], until, unused):
                transcript.ingest(fstate, lines, facts, most=MAX_TEXT)
                fstate["off"] = end
    finally:
        jsonl._loads = real
    return facts, fstate, decoded


@pytest.mark.parametrize("path", TRANSCRIPTS, ids=lambda p: f"{p.parts[-4]}/{p.name[:12]}")
def test_every_recorded_transcript_gives_the_same_facts_decoding_less(path):
    plain = _facts(path, None)
    passed = _facts(path, transcript.unused)
    assert passed[0] == plain[0] and passed[0]
    assert passed[1]["off"] == plain[1]["off"] == path.stat().st_size
    assert passed[1].get("pid") == plain[1].get("pid")
    if b'"type":"attachment"' in path.read_bytes():
        assert passed[2] < plain[2] / 2


@pytest.mark.parametrize("kind", ["user", "assistant", "api-request"])
def test_a_line_the_reader_reads_is_never_passed_over(kind):
    """Even when it quotes the types passed over (a prompt about attachments, a tool
    result holding a request shape)."""
    line = {
        "type": kind,
        "message": {"content": [{"type": "attachment"}, {"type": "api-request-shape"}]},
        "note": '"type":"api-request-blob"',
    }
    assert not transcript.unused(orjson.dumps(line))
    assert transcript.unused(orjson.dumps({"type": "attachment", "attachment": {"x": 1}}))
    assert transcript.unused(orjson.dumps({"type": "api-request-shape", "shape": {"n": 1}}))
    # a line passed over that quotes a type the reader reads is decoded after all
    assert not transcript.unused(orjson.dumps({"type": "api-request-shape", "shape": line}))
