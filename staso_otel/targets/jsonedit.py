"""Rewrite a JSON file's text to hold new data while keeping every byte of what did not
change. [targets]

A user's hooks.json or settings.json is theirs: its indent, compact objects, key order,
escapes or raw UTF-8, trailing newline. Re-serialising the whole file would reformat all
of it, and uninstall could never give the original back. So `render(text, data)` parses
the text with positions, compares it with `data`, and edits only the values that differ:
removed members and elements are cut out with their separator, added ones are written in
the style of their neighbours, unchanged ones are never touched. Adding something and
removing it again is therefore byte-identical. The result is checked against `data`;
anything this cannot place (a key order it would have to change) falls back to a plain
dump, which is still correct JSON.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass, field
from typing import Any

_WS = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


@dataclass
class Node:
    """A parsed value and where its text is: [start, end). Object members keep their key's
    start in `key_starts`, so a member is cut out key and all."""

    value: Any
    start: int
    end: int
    children: list[Node] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    key_starts: list[int] = field(default_factory=list)

    def child_start(self, i: int) -> int:
        return self.key_starts[i] if self.keys else self.children[i].start


def parse(text: str, pos: int = 0) -> Node:
    """The value at `pos` (after whitespace), with positions; ValueError when not JSON."""
    pos = _WS.match(text, pos).end()
    char = text[pos : pos + 1]
    if char not in ("{", "["):
        value, end = _DECODER.raw_decode(text, pos)
        return Node(value, pos, end)
    close = "}" if char == "{" else "]"
    node = Node({} if char == "{" else [], pos, pos)
    pos = _WS.match(text, pos + 1).end()
    if text[pos : pos + 1] == close:
        node.end = pos + 1
        return node
    while True:
        if char == "{":
            if text[pos : pos + 1] != '"':
                raise ValueError(f"expected a key at {pos}")
            key, after = json.decoder.scanstring(text, pos + 1)
            colon = _WS.match(text, after).end()
            if text[colon : colon + 1] != ":":
                raise ValueError(f"expected ':' at {colon}")
            child = parse(text, colon + 1)
            node.keys.append(key)
            node.key_starts.append(pos)
            node.value[key] = child.value
        else:
            child = parse(text, pos)
            node.value.append(child.value)
        node.children.append(child)
        pos = _WS.match(text, child.end).end()
        if text[pos : pos + 1] == ",":
            pos = _WS.match(text, pos + 1).end()
            continue
        if text[pos : pos + 1] != close:
            raise ValueError(f"expected ',' or {close!r} at {pos}")
        node.end = pos + 1
        return node


@dataclass
class Style:
    """How the file writes what we add: its indent unit, separators, escapes."""

    unit: str
    key_sep: str
    item_sep: str
    ensure_ascii: bool

    @classmethod
    def of(cls, text: str) -> Style:
        indent = re.search(r"\n([ \t]+)\S", text)
        colon = re.search(r'"\s*:(\s*)', text)
        comma = re.search(r",([ \t]*)\S", text)
        return cls(
            unit=indent[1] if indent else "  ",
            key_sep=":" + (colon[1] if colon and "\n" not in colon[1] else " "),
            item_sep="," + (comma[1] if comma else " "),
            # a file that escapes non-ASCII everywhere keeps doing so for what we add
            ensure_ascii=bool(re.search(r"\\u[0-9a-fA-F]{4}", text))
            and not re.search(r"[^\x00-\x7f]", text),
        )

    def dump(self, value: Any, indent: str | None) -> str:
        """`value` in this style; `indent` is the line's indent for a multi-line value."""
        if indent is None:
            return json.dumps(
                value, ensure_ascii=self.ensure_ascii, separators=(self.item_sep, self.key_sep)
            )
        text = json.dumps(
            value,
            ensure_ascii=self.ensure_ascii,
            indent=self.unit,
            separators=(",", self.key_sep),
        )
        return text.replace("\n", "\n" + indent)


def _line_indent(text: str, pos: int) -> str:
    line_start = text.rfind("\n", 0, pos) + 1
    return _WS.match(text, line_start).group().lstrip("\n\r")


class _Editor:
    def __init__(self, text: str, root: Node) -> None:
        self.text = text
        self.root = root
        self.style = Style.of(text)
        self.edits: list[tuple[int, int, str]] = []

    def apply(self) -> str:
        out, last = [], len(self.text)
        for start, end, new in sorted(self.edits, reverse=True):
            if end > last:
                raise ValueError("overlapping edits")
            out.append(self.text[end:last])
            out.append(new)
            last = start
        out.append(self.text[:last])
        return "".join(reversed(out))

    def multiline(self, node: Node) -> bool:
        """One child per line? As its children are; an empty container as the file is
        (an empty file object as a new file would be)."""
        if node.children:
            return "\n" in self.text[node.start : node.child_start(0)]
        return node is self.root or "\n" in self.text[self.root.start : self.root.end]

    def child_indent(self, node: Node) -> str:
        if node.children:
            return _line_indent(self.text, node.child_start(0))
        return _line_indent(self.text, node.start) + self.style.unit

    def item(self, node: Node, key: str | None, value: Any) -> str:
        indent = self.child_indent(node) if self.multiline(node) else None
        body = self.style.dump(value, indent)
        return (
            body if key is None else json.dumps(key, ensure_ascii=False) + self.style.key_sep + body
        )

    def replace(self, node: Node, value: Any) -> None:
        if _same(node.value, value):
            return
        if isinstance(value, dict) and isinstance(node.value, dict):
            self.object(node, value)
        elif isinstance(value, list) and isinstance(node.value, list):
            self.array(node, value)
        else:
            multi = "\n" in self.text[node.start : node.end] or isinstance(value, dict | list)
            indent = _line_indent(self.text, node.start) if multi else None
            self.edits.append((node.start, node.end, self.style.dump(value, indent)))

    def object(self, node: Node, value: dict[str, Any]) -> None:
        kept = [k for k in node.keys if k in value]
        added = [k for k in value if k not in node.value]
        if list(value) != kept + added:
            raise ValueError("key order changed")
        for i, key in enumerate(node.keys):
            if key in value:
                self.replace(node.children[i], value[key])
        self.remove(node, [i for i, k in enumerate(node.keys) if k not in value])
        self.insert(node, len(node.children), [(k, value[k]) for k in added])

    def array(self, node: Node, value: list[Any]) -> None:
        def canon(items: list[Any]) -> list[str]:
            return [json.dumps(v, sort_keys=False) for v in items]

        matcher = difflib.SequenceMatcher(None, canon(node.value), canon(value), autojunk=False)
        removed: list[int] = []
        for op, i1, i2, j1, j2 in matcher.get_opcodes():
            if op == "equal":
                continue
            if op == "replace" and i2 - i1 == j2 - j1:
                for i, j in zip(range(i1, i2), range(j1, j2), strict=True):
                    self.replace(node.children[i], value[j])
                continue
            removed.extend(range(i1, i2))
            if j2 > j1:
                self.insert(node, i2, [(None, v) for v in value[j1:j2]])
        self.remove(node, removed)

    def remove(self, node: Node, indices: list[int]) -> None:
        """Cut out children with their separator: a run after a kept child from that
        child's end; a leading run up to the next kept child; all of them, the inside."""
        gone = set(indices)
        n = len(node.children)
        i = 0
        while i < n:
            if i not in gone:
                i += 1
                continue
            j = i
            while j + 1 < n and j + 1 in gone:
                j += 1
            if i > 0:
                self.edits.append((node.children[i - 1].end, node.children[j].end, ""))
            elif j + 1 < n:
                self.edits.append((node.child_start(0), node.child_start(j + 1), ""))
            else:
                self.edits.append((node.start + 1, node.end - 1, ""))
            i = j + 1

    def insert(self, node: Node, at: int, items: list[tuple[str | None, Any]]) -> None:
        """New children before child `at` (or at the end), like their neighbours."""
        if not items:
            return
        multi = self.multiline(node)
        parts = [self.item(node, key, value) for key, value in items]
        sep = ",\n" + self.child_indent(node) if multi else self.style.item_sep
        if not node.children:
            if multi:
                closing = "\n" + _line_indent(self.text, node.start)
                body = "\n" + self.child_indent(node) + sep.join(parts) + closing
            else:
                body = sep.join(parts)
            self.edits.append((node.start + 1, node.end - 1, body))
        elif at >= len(node.children):
            self.edits.append((node.children[-1].end, node.children[-1].end, sep + sep.join(parts)))
        else:
            start = node.child_start(at)
            self.edits.append((start, start, sep.join(parts) + sep))


def render(text: str, data: Any) -> str:
    """`text` edited to hold `data`, unchanged parts byte for byte; a plain dump (in the
    file's indent) when the edit cannot be placed."""
    try:
        root = parse(text)
        editor = _Editor(text, root)
        editor.replace(root, data)
        out = editor.apply()
        if _same(json.loads(out), data):
            return out
    except (ValueError, IndexError):
        pass
    style = Style.of(text)
    return json.dumps(data, indent=style.unit, ensure_ascii=False) + "\n"


def _same(a: Any, b: Any) -> bool:
    """Equal including key order (json.dumps keeps it)."""
    return json.dumps(a) == json.dumps(b)
