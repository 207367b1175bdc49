"""A rollout line's timestamp is parsed once per read, though two readers use it: the
chunk reader (to stop before a later turn's lines) and the Codex facts reader."""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import ClassVar

import pytest

from staso_otel.targets import jsonl
from staso_otel.targets.codex import transcript
from staso_otel.turns.state import MAX_TEXT


class _Counting(datetime):
    parsed: ClassVar[list[str]] = []

    @classmethod
    def fromisoformat(cls, value: str) -> datetime:  # type: ignore[override]
        cls.parsed.append(value)
        return datetime.fromisoformat(value)


def test_a_rollout_lines_stamp_is_parsed_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # stamps no earlier test of this process can have seen
    base_ms = time.time_ns() // 10**6 + 10**6
    base = base_ms * 10**6
    stamps = [
        datetime.fromtimestamp((base_ms + i) // 1000, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
        + f".{(base_ms + i) % 1000:03d}Z"
        for i in range(20)
    ]
    path = tmp_path / "rollout.jsonl"
    with open(path, "w") as fh:
        for i, stamp in enumerate(stamps):
            payload = {"type": "user_message", "message": f"m{i}", "turn_id": "t1"}
            fh.write(json.dumps({"timestamp": stamp, "type": "event_msg", "payload": payload}))
            fh.write("\n")
    monkeypatch.setattr(jsonl, "datetime", _Counting)
    _Counting.parsed = []
    facts: dict[str, list] = {}
    fstate: dict = {}
    until = base + 10**12
    for lines, _ in transcript.read_chunks(str(path), 0, until):
        transcript.ingest(fstate, lines, facts, most=MAX_TEXT)
    assert [f["ts"] for f in facts["t1"]] == [base + i * 1_000_000 for i in range(20)]
    assert sorted(_Counting.parsed) == sorted(s.replace("Z", "+00:00") for s in stamps)
