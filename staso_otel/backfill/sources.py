"""Finding the sessions to import: transcripts on disk -> one Session per agent session. [backfill]

Codex keeps `CODEX_HOME/sessions/YYYY/MM/DD/rollout-*.jsonl`, one per thread (a sub-agent
is a thread of its own whose `session_meta` names the parent session); Claude Code keeps
`CLAUDE_CONFIG_DIR/projects/<slug>/<session>.jsonl` with sub-agents in
`<session>/subagents/agent-<id>.jsonl`. A file is classified by its first lines, not its
name, so any PATH the user gives works; what is not a transcript is reported, not fatal.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from staso_otel import paths
from staso_otel.targets.claude_code import backfill as claude
from staso_otel.targets.codex import backfill as codex

TARGETS = ("codex", "claude-code")


@dataclass
class Session:
    target: str
    session_id: str
    files: list = field(default_factory=list)  # codex.Rollout | claude.Transcript
    size: int = 0  # bytes of all its files
    mtime_ns: int = 0  # the newest file's


@dataclass
class Found:
    sessions: list[Session]
    skipped: list[tuple[str, str]]  # (path, why)


def default_roots(target: str) -> list[Path]:
    if target == "codex":
        return [paths.codex_home() / "sessions"]
    return [paths.claude_home() / "projects"]


def _walk(root: Path, target: str | None) -> Iterable[tuple[str | None, str]]:
    """(target it should be, path) of every candidate file under `root`."""
    if target in (None, "codex"):
        for path in codex.find(str(root)):
            yield "codex", path
    if target in (None, "claude-code"):
        for path in claude.find(str(root)):
            if not os.path.basename(path).startswith("rollout-"):
                yield "claude-code", path


def _classify(path: str, target: str | None):
    """(target, head) of a transcript, or (None, why)."""
    if target in (None, "codex"):
        head = codex.head(path)
        if head is not None:
            return "codex", head
    if target in (None, "claude-code"):
        head = claude.head(path)
        if head is not None:
            return "claude-code", head
    want = {"codex": "a Codex rollout", "claude-code": "a Claude Code transcript"}.get(
        target or "", "a Codex rollout or Claude Code transcript"
    )
    return None, f"not {want}"


def find(
    targets: Iterable[str],
    given: list[Path] | None = None,
    *,
    session: str | None = None,
    since_ns: int = 0,
) -> Found:
    """The sessions under the agents' own folders (or the PATHs given), oldest first."""
    wanted = list(targets)
    candidates: list[tuple[str | None, str]] = []
    skipped: list[tuple[str, str]] = []
    companions: dict[str, set[str]] = {}  # path -> the sessions it may belong to
    if given:
        one = wanted[0] if len(wanted) == 1 else None
        for path in given:
            if path.is_dir():
                candidates += list(_walk(path, one))
            elif path.is_file():
                candidates.append((one, str(path)))
                target, head = _classify(str(path), one)
                for pair in _companions(path, one) if target else ():
                    companions.setdefault(pair[1], set()).add(head.session_id)
                    candidates.append(pair)
            else:
                skipped.append((str(path), "no such file or folder"))
        for path in given:  # named by the user: never dropped as someone's neighbour
            companions.pop(str(path), None)
    else:
        for target in wanted:
            for root in default_roots(target):
                if root.is_dir():
                    candidates += list(_walk(root, target))
    sessions: dict[tuple[str, str], Session] = {}
    seen: set[str] = set()
    for hint, path in candidates:
        real = os.path.realpath(path)
        if real in seen:
            continue
        try:
            stat = os.stat(path)
        except OSError as exc:
            skipped.append((path, f"unreadable: {exc.strerror or exc}"))
            continue
        target, head = _classify(path, hint)
        if path in companions and (target is None or head.session_id not in companions[path]):
            continue  # a neighbour of a file given alone, of another session: not asked for
        seen.add(real)
        if target is None or target not in wanted:
            skipped.append((path, head if target is None else f"a {target} transcript"))
            continue
        if session is not None and head.session_id != session:
            continue
        entry = sessions.setdefault((target, head.session_id), Session(target, head.session_id))
        entry.files.append(head)
        entry.size += stat.st_size
        entry.mtime_ns = max(entry.mtime_ns, stat.st_mtime_ns)
    found = [s for s in sessions.values() if s.mtime_ns >= since_ns and _has_main(s)]
    for s in sessions.values():
        if not _has_main(s):
            for f in s.files:
                skipped.append((f.path, "a sub-agent's transcript without its session's"))
    found.sort(key=lambda s: min(f.start_ns for f in s.files))
    return Found(found, skipped)


def _has_main(s: Session) -> bool:
    if s.target == "codex":
        return any(f.agent_type is None for f in s.files)
    return any(f.agent_id is None for f in s.files)


def _companions(path: Path, target: str | None) -> list[tuple[str | None, str]]:
    """A transcript given alone brings its sub-agents: Claude Code's `<session>/subagents/`,
    and for a Codex rollout the other rollouts of its folder (a sub-agent's is written
    beside its parent's)."""
    out: list[tuple[str | None, str]] = []
    if target in (None, "claude-code"):
        sub = path.with_suffix("") / "subagents"
        if sub.is_dir():
            out += [("claude-code", p) for p in claude.find(str(sub))]
    if target in (None, "codex") and path.name.startswith("rollout-"):
        out += [("codex", str(p)) for p in sorted(path.parent.glob("rollout-*.jsonl"))]
    return out
