"""A Codex PostModelRequest that comes after its turn closed does not make a second model call.

Async hooks (`"async": true`) run in the background and arrive in any order
(/work/shared/docs/codex-hooks.md): a turn's last PostModelRequest can come after its Stop,
after SessionEnd, after the next turn started. The turn is then built with that request
still open. The rollout recorded the response all the same (`token_usage_record`), so the
request is answered by it: one chat span with the response's id and usage, as with the
hooks in order, not an ERROR "request did not complete" plus a rollout-only chat span
counting the same model call twice.

The sessions are recorded fixtures with one PostModelRequest moved to 2 s after the Stop
of its turn (past SessionEnd, and in tour_resume past the next turn's start).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from replay import FIXTURES_CODEX, replay

from staso_otel import semconv as sc
from staso_otel.span.model import SpanData


def _late_copy(name: str, dst: Path) -> Path:
    """The fixture with its first turn's last PostModelRequest moved after that turn's Stop."""
    shutil.copytree(FIXTURES_CODEX / name, dst)
    lines = [json.loads(x) for x in (dst / "hooks.jsonl").read_text().splitlines() if x.strip()]
    kinds = [x["payload"]["hook_event_name"] for x in lines]
    stop = kinds.index("Stop")
    post = max(i for i in range(stop) if kinds[i] == "PostModelRequest")
    late = lines.pop(post)
    late["t"] = lines[stop - 1]["t"] + 2.0
    lines.append(late)
    lines.sort(key=lambda x: x["t"])
    (dst / "hooks.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    return dst


def _chats(spans: list[SpanData]) -> list[tuple]:
    rows = [s for s in spans if s.name.startswith("chat ")]
    return sorted(
        (
            s.trace_id,
            s.parent_span_id,
            s.attributes.get(sc.GEN_AI_RESPONSE_ID),
            s.attributes.get(sc.GEN_AI_USAGE_INPUT_TOKENS),
            s.attributes.get(sc.GEN_AI_USAGE_OUTPUT_TOKENS),
            s.status,
        )
        for s in rows
    )


def _roots(spans: list[SpanData]) -> list[tuple]:
    return sorted(
        (s.trace_id, s.attributes.get(sc.STASO_USAGE_MODEL_CALLS), s.status)
        for s in spans
        if s.parent_span_id is None
    )


@pytest.mark.parametrize("name", ["hello", "tour_resume"])
@pytest.mark.parametrize("worker", ["end", "prompt"])
def test_a_post_model_request_after_the_stop_is_the_same_model_call(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, worker: str
) -> None:
    monkeypatch.setenv("STASO_HOME", str(tmp_path / "staso-in-order"))
    expected = replay(FIXTURES_CODEX / name, tmp_path / "home-in-order", worker=worker).spans
    monkeypatch.setenv("STASO_HOME", str(tmp_path / "staso-late"))
    late = _late_copy(name, tmp_path / "late")
    spans = replay(late, tmp_path / "home-late", worker=worker).spans
    assert _chats(spans) == _chats(expected)
    assert all(s.status != sc.STATUS_ERROR for s in spans if s.name.startswith("chat "))
    assert _roots(spans) == _roots(expected)  # model call counts per turn included
