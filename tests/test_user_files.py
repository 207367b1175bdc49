"""The user's hooks.json and settings.json after setup + uninstall: byte for byte what they
were, whatever their formatting (indent, compact objects, escapes or raw UTF-8, key order,
trailing newline or not); while installed, everything staso did not add is untouched."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from staso_cli.main import cli

from staso_otel.targets import hookfile, jsonedit
from staso_otel.targets.claude_code import install as claude_install
from staso_otel.targets.codex import install as codex_install

ENDPOINT = ["--endpoint", "http://127.0.0.1:4318"]
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=0, max_size=12)
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-(10**6), 10**6), TEXT)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=8,
)
HANDLER = st.fixed_dictionaries(
    {"type": st.just("command"), "command": TEXT.map(lambda t: "notify " + t)},
    optional={"timeout": st.integers(1, 600), "statusMessage": TEXT},
)
GROUP = st.fixed_dictionaries(
    {"hooks": st.lists(HANDLER, min_size=1, max_size=2)}, optional={"matcher": TEXT}
)
EVENTS = st.sampled_from(["Stop", "PreToolUse", "SessionStart", "Notification", "MyEvent"])
HOOKS = st.dictionaries(EVENTS, st.lists(GROUP, max_size=2), max_size=3)


@st.composite
def user_file(draw: st.DrawFn) -> str:
    """A settings file as a person or another tool might have written it."""
    extra = draw(st.dictionaries(TEXT.filter(lambda k: k != "hooks"), VALUES, max_size=3))
    items = list(extra.items())
    if draw(st.booleans()):
        items.insert(draw(st.integers(0, len(items))), ("hooks", draw(HOOKS)))
    data = dict(items)
    indent = draw(st.sampled_from([None, 2, 4, "\t", 1]))
    ensure_ascii = draw(st.booleans())
    compact_below = draw(st.integers(1, 5))  # nested objects from this depth on one line
    text = _dump(data, indent, ensure_ascii, compact_below, 0)
    return text + draw(st.sampled_from(["", "\n", "\n\n", " \n"]))


def _dump(value: Any, indent: Any, ensure_ascii: bool, compact_below: int, depth: int) -> str:
    if indent is None or depth >= compact_below or not isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=ensure_ascii)
    if not value:
        return "{}" if isinstance(value, dict) else "[]"
    unit = indent if isinstance(indent, str) else " " * indent
    pad = unit * (depth + 1)
    if isinstance(value, dict):
        parts = [
            json.dumps(k, ensure_ascii=ensure_ascii)
            + ": "
            + _dump(v, indent, ensure_ascii, compact_below, depth + 1)
            for k, v in value.items()
        ]
        open_, close = "{", "}"
    else:
        parts = [_dump(v, indent, ensure_ascii, compact_below, depth + 1) for v in value]
        open_, close = "[", "]"
    return open_ + "\n" + pad + (",\n" + pad).join(parts) + "\n" + unit * depth + close


OURS = "/usr/bin/python3 -m staso_otel.hook codex"


@settings(max_examples=150, deadline=None)
@given(user_file())
def test_adding_and_removing_our_entries_gives_the_same_bytes(text):
    data, original = hookfile.read_text(text)
    had_hooks_key = "hooks" in data
    created = hookfile.created_events(data, codex_install.ALL_EVENTS, None)
    hookfile.add(data, codex_install.ALL_EVENTS, OURS, lambda _e: 30)
    installed = hookfile.dumps(data, original)
    assert json.loads(installed) == data
    data, _ = hookfile.read_text(installed)
    assert hookfile.strip(data, codex_install.TARGET, created)
    if not had_hooks_key:  # as both installers do
        del data["hooks"]
    assert hookfile.dumps(data, installed) == original


# (target, home, file, the events setup writes)
AGENT_FILES = [
    ("codex", "codex", "hooks.json", codex_install.ALL_EVENTS),
    ("claude-code", "claude", "settings.json", claude_install.EVENTS),
]


@pytest.mark.parametrize(("target", "home", "name", "events"), AGENT_FILES)
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=user_file())
def test_setup_then_uninstall_leaves_the_agents_file_byte_identical(
    isolated_homes, target, home, name, events, text
):
    path = isolated_homes[home] / name
    path.write_bytes(text.encode())
    result = CliRunner().invoke(cli, ["setup", "--target", target, *ENDPOINT])
    assert result.exit_code == 0, result.output
    installed = json.loads(path.read_text(encoding="utf-8"))
    assert set(hookfile.events_with(installed, target)) == set(events)
    _assert_theirs_untouched(text, path.read_text(encoding="utf-8"))
    result = CliRunner().invoke(cli, ["uninstall", "--target", target, "--keep-data"])
    assert result.exit_code == 0, result.output
    assert path.read_bytes() == text.encode()


def _assert_theirs_untouched(before: str, after: str) -> None:
    """Every value the user wrote (other than the hooks we extend) is still there as the
    very same text."""
    root = jsonedit.parse(before)
    for key, child in zip(root.keys, root.children, strict=True):
        if key != "hooks":
            assert before[child.start : child.end] in after
            continue
        for groups in child.children:
            for group in groups.children:
                assert before[group.start : group.end] in after


def test_a_compact_unicode_file_keeps_its_escapes_and_its_one_line():
    text = '{"hooks": {"Stop": [{"hooks": [{"type": "command", "command": "say \\u2705"}]}]}}'
    data, original = hookfile.read_text(text)
    hookfile.add(data, ("Stop", "SessionStart"), OURS, lambda _e: 30)
    installed = hookfile.dumps(data, original)
    assert installed.startswith(text[:-3]) and "\n" not in installed
    assert "\\u2705" in installed and "✅" not in installed
