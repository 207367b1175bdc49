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
from transcript_reads import read_turn_by_turn

from staso_otel.targets.claude_code import transcript

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "claude-code"
TRANSCRIPTS = sorted(FIXTURES.glob("*/projects/**/*.jsonl"))


def _facts(path: Path, unused) -> tuple[dict, dict, int]:
    return read_turn_by_turn(path, transcript.ingest, (lambda _: unused) if unused else None)


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
