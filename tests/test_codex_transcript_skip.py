"""The Codex rollout reader passes over, undecoded, the lines it never reads.

The tool catalogue Codex sends the model (`additional_tools`) and the environment it
describes to it (`world_state`) are a quarter of the recorded rollouts' bytes and none of
their facts: every recorded rollout must give the same facts and file state read with and
without the pass-over, while decoding fewer bytes; a line the reader does read is never
passed over, whatever it quotes; and the turn kernel reading a rollout never decodes them.
"""

from __future__ import annotations

import functools
from pathlib import Path

import orjson
import pytest
from clone_sessions import clone
from transcript_reads import counting_decodes, read_turn_by_turn

from staso_otel.backfill import run, sources
from staso_otel.targets.codex import transcript
from staso_otel.turns.state import MAX_TEXT

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "codex"
ROLLOUTS = sorted(FIXTURES.glob("*/sessions/**/rollout-*.jsonl"))
PASSED = (b'"type":"additional_tools"', b'"type":"world_state"')


def _facts(path: Path, skip: bool) -> tuple[dict, dict, int]:
    unused = (lambda fstate: functools.partial(transcript.unused, fstate)) if skip else None
    return read_turn_by_turn(path, transcript.ingest, unused)


@pytest.mark.parametrize("path", ROLLOUTS, ids=lambda p: f"{p.parts[-6]}/{p.name[-14:-6]}")
def test_every_recorded_rollout_gives_the_same_facts_decoding_less(path):
    plain = _facts(path, skip=False)
    passed = _facts(path, skip=True)
    assert passed[0] == plain[0] and passed[0]
    assert passed[1] == plain[1] and passed[1]["off"] == path.stat().st_size
    if any(m in path.read_bytes() for m in PASSED):
        assert passed[2] < plain[2]


@pytest.mark.parametrize("ptype", ["message", "function_call_output", "reasoning"])
def test_a_line_the_reader_reads_is_never_passed_over(ptype):
    """Even when it quotes the heads passed over (a prompt about them, a tool's output)."""
    quote = '"type":"world_state","payload":{} "payload":{"type":"additional_tools",'
    line = {
        "timestamp": "2026-11-23T22:00:21.050Z",
        "ordinal": 3,
        "type": "response_item",
        "payload": {
            "type": ptype,
            "output": quote,
            "content": [{"type": "input_text", "text": quote}],
        },
    }
    assert not transcript.unused({}, orjson.dumps(line))
    fstate: dict = {}
    world = {
        "timestamp": "2026-11-23T22:00:21.053Z",
        "ordinal": 8,
        "type": "world_state",
        "payload": {"full": True},
    }
    assert transcript.unused(fstate, orjson.dumps(world))
    assert fstate == {"paginated": True}  # what ingest would have taken from it
    tools = {
        "timestamp": "2026-11-23T22:00:21.050Z",
        "type": "response_item",
        "payload": {"type": "additional_tools", "tools": []},
    }
    fstate = {}
    assert transcript.unused(fstate, orjson.dumps(tools)) and fstate == {}


def test_the_kernel_never_decodes_them_when_it_rebuilds_a_session(isolated_homes, monkeypatch):
    home = isolated_homes["home"]
    monkeypatch.setenv("CODEX_HOME", str(home / ".codex"))
    clone("codex", "tour_resume", home, 0)
    report = run.Report()
    sink = run.Sink(isolated_homes["staso"], None, dry_run=True)
    with counting_decodes() as decoded:
        for session in sources.find(["codex"]).sessions:
            run.import_session(session, sink, report, max_attribute_bytes=MAX_TEXT)
    assert report.spans > 0 and decoded
    assert not [raw[:80] for raw in decoded if any(m in raw[:160] for m in PASSED)]
