"""Render stored traces as trees with tool cards (rich), readable with or without colour.

A turn shows its prompt and answer, then its model calls and tool calls in time order
with durations and tokens; each tool call gets a card for its category: a shell command
with exit code and wall time, a patch as a coloured unified diff, a plan as steps with
status marks, an MCP call with its server; sub-agents nest under the call that spawned
them.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.text import Text
from rich.tree import Tree

from staso_otel import semconv as sc

MAX_LINES = 12
MAX_DIFF_LINES = 40
MAX_TEXT = 300
PLAN_MARKS = {"completed": "✓", "in_progress": "▶", "pending": "○"}


@dataclass(frozen=True)
class Limits:
    """How much of each piece of content is shown; None: all of it (`--full`)."""

    lines: int | None = MAX_LINES
    diff_lines: int | None = MAX_DIFF_LINES
    text: int | None = MAX_TEXT
    short: int | None = 200


CUT = Limits()
FULL = Limits(None, None, None, None)


def console() -> Console:
    """A terminal's width on a terminal; elsewhere (a pipe, a file) no wrapping at all,
    so `staso traces > f` keeps every line whole."""
    out = Console()
    if out.is_terminal or "COLUMNS" in os.environ:
        return out
    return Console(width=100_000)


def _dur(span: dict[str, Any]) -> str:
    seconds = max(span["end_ns"] - span["start_ns"], 0) / 1e9
    return f"{seconds * 1000:.0f}ms" if seconds < 1 else f"{seconds:.1f}s"


def _short(value: Any, limit: int | None = MAX_TEXT) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = text.strip()
    return text if limit is None or len(text) <= limit else text[: limit - 1] + "…"


def _lines(text: str, limit: int | None = MAX_LINES) -> list[str]:
    lines = text.rstrip("\n").splitlines()
    if limit is not None and len(lines) > limit:
        lines = [*lines[:limit], f"… {len(lines) - limit} more lines"]
    return lines


def _tokens(a: dict[str, Any], prefix: str) -> str:
    if prefix == "gen_ai":
        inp, out = a.get(sc.GEN_AI_USAGE_INPUT_TOKENS), a.get(sc.GEN_AI_USAGE_OUTPUT_TOKENS)
        cached = a.get(sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS)
    else:
        inp, out = a.get(sc.STASO_USAGE_INPUT_TOKENS), a.get(sc.STASO_USAGE_OUTPUT_TOKENS)
        cached = a.get(sc.STASO_USAGE_CACHE_READ_INPUT_TOKENS)
    if inp is None and out is None:
        return ""
    extra = f", {cached} cached" if cached else ""
    return f"{inp or 0} in{extra} / {out or 0} out tokens"


def _label(span: dict[str, Any]) -> Text:
    a = span["attributes"]
    kind = a.get(sc.OPENINFERENCE_SPAN_KIND)
    label = Text()
    if kind == sc.OI_KIND_AGENT:
        label.append("● ", "bold magenta")
        label.append(span["name"], "bold")
        number = a.get(sc.CODEX_TURN_NUMBER) or a.get(sc.CLAUDE_CODE_TURN_NUMBER)
        if number:
            label.append(f"  turn {number}", "magenta")
    elif kind == sc.OI_KIND_LLM:
        label.append("◆ ", "cyan")
        label.append(span["name"], "cyan")
    else:
        label.append("▸ ", "yellow")
        label.append(span["name"], "yellow")
    label.append(f"  {_dur(span)}", "dim")
    tokens = _tokens(a, "staso" if kind == sc.OI_KIND_AGENT else "gen_ai")
    if tokens:
        label.append(f"  {tokens}", "dim")
    exit_code = a.get(sc.STASO_SHELL_EXIT_CODE)
    if exit_code is not None:
        label.append(f"  [exit {exit_code}]", "green" if exit_code == 0 else "bold red")
    outcome = a.get(sc.STASO_TURN_OUTCOME)
    if outcome and outcome != sc.TURN_COMPLETED:
        label.append(f"  {outcome}", "bold red")
    if span.get("status") == "ERROR" and exit_code is None:
        label.append(f"  ERROR {a.get(sc.ERROR_TYPE) or ''}".rstrip(), "bold red")
    return label


def _llm_output(value: Any, limits: Limits = CUT) -> str:
    """A model's answer, or the tool calls it asked for as `→ name(arguments)`."""
    try:
        parsed = json.loads(value) if isinstance(value, str) else value
    except ValueError:
        parsed = None
    if isinstance(parsed, list) and parsed and all(isinstance(p, dict) for p in parsed):
        if all(isinstance(p.get("parts"), list) for p in parsed):  # gen_ai.output.messages
            parsed = [part for m in parsed for part in m["parts"] if isinstance(part, dict)]
            parsed = [p for p in parsed if p.get("type") != "reasoning"]
        calls = [p for p in parsed if p.get("type") in ("tool_call", "tool_use")]
        texts = [
            str(p.get("text") or p.get("content") or "")
            for p in parsed
            if p.get("type") not in ("tool_call", "tool_use")
        ]
        arg_limit = None if limits.short is None else 80
        parts = [f"→ {c.get('name')}({_short(c.get('arguments') or '', arg_limit)})" for c in calls]
        return _short("  ".join([*filter(None, texts), *parts]), limits.short)
    return _short(value, limits.short)


def _card(node: Tree, span: dict[str, Any], limits: Limits = CUT) -> None:
    a = span["attributes"]
    category = a.get(sc.STASO_TOOL_CATEGORY)
    kind = a.get(sc.OPENINFERENCE_SPAN_KIND)
    if kind == sc.OI_KIND_AGENT:
        if a.get(sc.INPUT_VALUE):
            node.add(Text(f"> {_short(a[sc.INPUT_VALUE], limits.text)}", "bold"))
        if a.get(sc.OUTPUT_VALUE):
            node.add(Text(f"< {_short(a[sc.OUTPUT_VALUE], limits.text)}", "green"))
        return
    if kind == sc.OI_KIND_LLM:
        output = a.get(sc.GEN_AI_OUTPUT_MESSAGES) or a.get(sc.OUTPUT_VALUE)
        if output:
            node.add(Text(_llm_output(output, limits), "dim"))
        return
    if category == sc.CATEGORY_SHELL and a.get(sc.STASO_SHELL_COMMAND):
        node.add(Text(f"$ {a[sc.STASO_SHELL_COMMAND]}", "bold"))
        for line in _lines(str(a.get(sc.STASO_SHELL_STDOUT) or ""), limits.lines):
            node.add(Text(line, "dim"))
        for line in _lines(str(a.get(sc.STASO_SHELL_STDERR) or ""), limits.lines):
            node.add(Text(line, "red"))
        return
    if category == sc.CATEGORY_FILE and a.get(sc.STASO_FILE_DIFF):
        added, removed = a.get(sc.STASO_FILE_LINES_ADDED, 0), a.get(sc.STASO_FILE_LINES_REMOVED, 0)
        files = a.get(sc.STASO_FILE_PATHS) or ()
        node.add(Text(f"+{added} -{removed}  {', '.join(files)}", "bold"))
        for line in _lines(str(a[sc.STASO_FILE_DIFF]), limits.diff_lines):
            style = (
                "green"
                if line.startswith("+") and not line.startswith("+++")
                else "red"
                if line.startswith("-") and not line.startswith("---")
                else "cyan"
                if line.startswith("@@")
                else "dim"
            )
            node.add(Text(line, style))
        return
    if category == sc.CATEGORY_PLANNING and a.get(sc.STASO_PLAN_STEPS):
        try:
            steps = json.loads(a[sc.STASO_PLAN_STEPS])
        except (TypeError, ValueError):
            steps = []
        for step in steps if isinstance(steps, list) else []:
            status = str(step.get("status", ""))
            node.add(
                Text(
                    f"{PLAN_MARKS.get(status, '·')} {step.get('step', '')}  ({status})",
                    "green" if status == "completed" else "",
                )
            )
        return
    if category == sc.CATEGORY_MCP:
        server, tool = a.get(sc.STASO_MCP_SERVER), a.get(sc.STASO_MCP_TOOL)
        node.add(
            Text(
                f"mcp {server}/{tool}" + ("  isError" if a.get(sc.STASO_MCP_IS_ERROR) else ""),
                "bold",
            )
        )
    if a.get(sc.INPUT_VALUE):
        node.add(Text(f"in:  {_short(a[sc.INPUT_VALUE], limits.short)}", "dim"))
    if a.get(sc.OUTPUT_VALUE):
        node.add(Text(f"out: {_short(a[sc.OUTPUT_VALUE], limits.short)}", "dim"))


def build_tree(spans: list[dict[str, Any]], limits: Limits = CUT) -> list[Tree]:
    """Trees of one trace (normally one root; orphans become roots rather than vanish)."""
    ids = {s["span_id"] for s in spans}
    children: dict[str | None, list[dict[str, Any]]] = defaultdict(list)
    for span in sorted(spans, key=lambda s: (s["start_ns"], s["span_id"])):
        parent = span.get("parent_span_id")
        children[parent if parent in ids else None].append(span)

    def grow(span: dict[str, Any]) -> Tree:
        node = Tree(_label(span), guide_style="dim")
        _card(node, span, limits)
        for child in children.get(span["span_id"], []):
            node.add(grow(child))
        return node

    return [grow(root) for root in children.get(None, [])]


def render(console: Console, traces: list[list[dict[str, Any]]], limits: Limits = CUT) -> None:
    """Each trace as trees, under one `session <id>` line per run of a session's turns."""
    shown = None
    for spans in traces:
        session = next(
            (
                s["attributes"].get(sc.SESSION_ID)
                for s in spans
                if s["attributes"].get(sc.SESSION_ID)
            ),
            None,
        )
        if session and session != shown:
            console.print(Text(f"session {session}", "dim"))
        shown = session
        for tree in build_tree(spans, limits):
            console.print(tree)
        console.print()


def summary_line(span: dict[str, Any]) -> str:
    """One line per finished turn, for `staso collector`."""
    a = span["attributes"]
    prompt = _short(a.get(sc.INPUT_VALUE) or "", 60)
    return f"{span['name']}  {_dur(span)}  {_tokens(a, 'staso') or ''}  {prompt}".rstrip()
