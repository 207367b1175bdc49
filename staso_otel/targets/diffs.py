"""Unified diffs for file-editing tools, shared by every target. [targets, stdlib]

Agents report edits in their own shapes (Codex: patch text or per-file unified bodies;
Claude Code: whole new files or `structuredPatch` hunks); spans carry one shape, a
`git diff`-style unified diff with +/- counts, so a viewer renders both the same way.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from staso_otel import semconv as sc


@dataclass(frozen=True)
class Change:
    """One file of an edit: its path as the agent named it, add|update|delete, the
    unified diff, and where a move sent it."""

    path: str
    kind: str
    diff: str
    move_path: str | None = None


def put_changes(attrs: dict[str, Any], changes: Sequence[Change], applied: bool) -> None:
    """The file attributes of one edit: the files and their diff, and, when the edit
    happened, the per-file summary and line totals (a diff of an edit that failed or never
    ran says what was attempted; the counts are for changes that happened)."""
    attrs[sc.STASO_FILE_PATHS] = [c.path for c in changes]
    attrs[sc.STASO_FILE_DIFF] = "".join(c.diff for c in changes)
    if not applied:
        return
    summary: list[dict[str, Any]] = []
    for change in changes:
        added, removed = diff_counts(change.diff)
        entry: dict[str, Any] = {
            "path": change.path,
            "kind": change.kind,
            "added": added,
            "removed": removed,
        }
        if change.move_path:
            entry["move_path"] = change.move_path
        summary.append(entry)
    attrs[sc.STASO_FILE_CHANGES] = summary
    attrs[sc.STASO_FILE_LINES_ADDED] = sum(e["added"] for e in summary)
    attrs[sc.STASO_FILE_LINES_REMOVED] = sum(e["removed"] for e in summary)


def diff_counts(diff: str) -> tuple[int, int]:
    """(lines added, lines removed) of a unified diff, headers excluded."""
    added = removed = 0
    for line in diff.splitlines():
        if line.startswith("+") and not line.startswith("+++"):
            added += 1
        elif line.startswith("-") and not line.startswith("---"):
            removed += 1
    return added, removed


def created(path: str, content: str) -> str:
    lines = content.splitlines()
    body = "".join(f"+{x}\n" for x in lines)
    return f"--- /dev/null\n+++ b/{path}\n@@ -0,0 +1,{len(lines)} @@\n{body}"


def from_hunks(path: str, hunks: Iterable[Mapping[str, Any]]) -> str:
    """Claude Code's structuredPatch: [{oldStart, oldLines, newStart, newLines, lines}]."""
    out = [f"--- a/{path}\n+++ b/{path}\n"]
    for h in hunks:
        lines = h.get("lines") if isinstance(h.get("lines"), list) else []
        out.append(
            f"@@ -{h.get('oldStart', 0)},{h.get('oldLines', 0)} "
            f"+{h.get('newStart', 0)},{h.get('newLines', 0)} @@\n"
        )
        out.extend(f"{x}\n" for x in lines if isinstance(x, str))
    return "".join(out)


def between(path: str, old: str, new: str) -> str:
    """A diff computed from two texts (an edit whose result the agent never reported)."""
    lines = difflib.unified_diff(
        old.splitlines(keepends=True),
        new.splitlines(keepends=True),
        fromfile=f"a/{path}",
        tofile=f"b/{path}",
    )
    return "".join(x if x.endswith("\n") else x + "\n" for x in lines)
