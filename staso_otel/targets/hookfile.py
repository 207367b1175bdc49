"""Editing an agent's JSON hook configuration without touching anything else. [targets]

Codex's hooks.json and Claude Code's settings.json share one shape:
`{"hooks": {"<Event>": [{"matcher": "...", "hooks": [{"type": "command", "command": ...}]}]}}`.
Our handlers are recognised by how the command ends: `<hook script> <target>` (what setup
writes) or `-m staso_otel.hook <target>` (what earlier releases wrote, so sync replaces
it); everything else (other keys, other groups, other handlers, their order, the file's
mode, a dotfile symlink) is kept, and so is its text: `dumps` edits only what changed
(jsonedit), so the user's formatting and escapes survive and setup + uninstall is
byte-identical. Writes are atomic.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
import tempfile
from collections.abc import Callable, Collection, Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from staso_otel.targets import jsonedit


class HookFileError(RuntimeError):
    """A file we must edit is broken or unwritable: one line saying which and why."""


def write_user_file(path: Path, text: str) -> None:
    """Atomic replace that keeps the file's mode and writes through a dotfile symlink to
    its real target instead of replacing the link."""
    real = path.resolve() if path.is_symlink() else path
    mode = real.stat().st_mode & 0o777 if real.exists() else 0o600
    real.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{real.name}.", dir=real.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, real)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def unwritable(path: Path) -> str | None:
    """Why `path` cannot be replaced atomically (the file, or its folder, which must take a
    new file), or None."""
    real = path.resolve() if path.is_symlink() else path
    if real.is_dir():
        return "it is a folder"
    if real.exists() and not os.access(real, os.W_OK):
        return "the file is read-only"
    folder = real.parent
    while not folder.exists():
        folder = folder.parent
    if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
        return f"its folder {folder} is not writable"
    return None


def check_writable(paths: Iterable[Path]) -> None:
    """Every file a command will write, checked before it writes any of them."""
    for path in paths:
        why = unwritable(path)
        if why:
            raise HookFileError(
                f"{path} is not writable ({why}); nothing was changed: fix its permissions, "
                "then re-run"
            )


@contextmanager
def all_or_nothing(paths: Iterable[Path]) -> Iterator[None]:
    """Put `paths` back as they were (contents, absence, new folders) if the block fails,
    so a command that stops half way leaves nothing half done."""
    saved: dict[Path, bytes | None] = {}
    new_dirs: list[Path] = []
    for path in paths:
        saved[path] = path.read_bytes() if path.is_file() else None
        folder = path.parent
        while not folder.exists():
            new_dirs.append(folder)
            folder = folder.parent
    try:
        yield
    except BaseException:
        for path, data in saved.items():
            try:
                if data is None:
                    path.unlink(missing_ok=True)
                elif not path.is_file() or path.read_bytes() != data:
                    write_user_file(path, data.decode("utf-8"))
            except (OSError, UnicodeDecodeError):
                pass  # best effort: the original error is the one to report
        for folder in sorted(set(new_dirs), key=lambda p: len(p.parts), reverse=True):
            with suppress(OSError):
                folder.rmdir()
        raise


def read(path: Path) -> tuple[dict[str, Any], str | None]:
    """(data, original text or None when absent); a broken file raises HookFileError."""
    if not path.exists():
        return {}, None
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise HookFileError(f"cannot read {path} ({exc})") from None
    return read_text(text, path)


def read_text(text: str, path: Path | str = "the file") -> tuple[dict[str, Any], str]:
    """`read` for text already in hand."""
    try:
        data = json.loads(text) if text.strip() else {}
    except ValueError as exc:
        raise HookFileError(
            f"{path} is not valid JSON ({exc}); fix or move it, then re-run"
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("hooks", {}), dict):
        raise HookFileError(f"{path} has no hooks object at the top; fix it, then re-run")
    return data, text


def dumps(data: dict[str, Any], original: str | None) -> str:
    """The file's new text: `original` with only what changed edited, or a fresh file."""
    if original is None or not original.strip():
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    return jsonedit.render(original, data)


HOOK_SCRIPT = ("staso_otel", "hook", "__main__.py")
LEGACY_MODULE = ["-m", "staso_otel.hook"]


def hook_script() -> Path:
    """The hook's entry point file in this installation."""
    import staso_otel.hook

    return Path(staso_otel.hook.__file__).with_name(HOOK_SCRIPT[-1])


def hook_command(target: str) -> str:
    """`<python> -I -S <hook script> <target>`: absolute paths keep it working whatever the
    user's shell or PATH; `-I -S` skip site (.pth files, site-packages scan) and the
    user's PYTHON* variables, the cheapest interpreter start (docs/PERFORMANCE.md)."""
    words = [sys.executable, "-I", "-S", str(hook_script()), target]
    return " ".join(shlex.quote(w) for w in words)


def is_ours(handler: Any, target: str) -> bool:
    if not isinstance(handler, dict) or handler.get("type", "command") != "command":
        return False
    try:
        words = shlex.split(str(handler.get("command", "")))
    except ValueError:
        return False
    if len(words) < 3 or words[-1] != target:
        return False
    return words[-3:-1] == LEGACY_MODULE or Path(words[-2]).parts[-3:] == HOOK_SCRIPT


def strip(data: dict[str, Any], target: str, created: Collection[str] | None = None) -> bool:
    """Remove our handlers and the groups left empty by that; True if any removed.

    An event left with no groups is deleted when setup `created` its key (None: any);
    otherwise its `[]` was the user's and stays.
    """
    hooks = data.get("hooks") or {}
    removed = False
    for event in list(hooks):
        groups = hooks[event]
        if not isinstance(groups, list):
            continue
        kept_groups = []
        for group in groups:
            handlers = group.get("hooks") if isinstance(group, dict) else None
            if not isinstance(handlers, list):
                kept_groups.append(group)
                continue
            kept = [h for h in handlers if not is_ours(h, target)]
            if len(kept) != len(handlers):
                removed = True
                if not kept:
                    continue
                group = {**group, "hooks": kept}
            kept_groups.append(group)
        emptied = groups and not kept_groups
        if emptied and (created is None or event in created):
            del hooks[event]
        else:
            hooks[event] = kept_groups
    return removed


def created_events(
    data: dict[str, Any], events: Iterable[str], before: Collection[str] | None
) -> list[str]:
    """The events whose key setup creates (or created earlier, `before`) in `data`."""
    hooks = data.get("hooks") or {}
    return sorted(set(before or ()) | {e for e in events if e not in hooks})


def add(
    data: dict[str, Any],
    events: tuple[str, ...],
    command: str,
    timeout_for: Callable[[str], int],
    matcher_for: Callable[[str], str | None] = lambda _event: None,
    name: str | None = None,
) -> None:
    """One group per event holding our handler; `name` labels it where the agent shows
    hooks by name (Gemini CLI's /hooks panel)."""
    hooks = data.setdefault("hooks", {})
    for event in events:
        group: dict[str, Any] = {}
        matcher = matcher_for(event)
        if matcher is not None:
            group["matcher"] = matcher
        handler: dict[str, Any] = {"name": name} if name else {}
        handler |= {"type": "command", "command": command, "timeout": timeout_for(event)}
        group["hooks"] = [handler]
        hooks.setdefault(event, []).append(group)


def events_with(data: dict[str, Any], target: str) -> list[str]:
    """The events that have a handler of ours."""
    out = []
    for event, groups in (data.get("hooks") or {}).items():
        for group in groups if isinstance(groups, list) else []:
            handlers = group.get("hooks") if isinstance(group, dict) else None
            if isinstance(handlers, list) and any(is_ours(h, target) for h in handlers):
                out.append(event)
                break
    return out
