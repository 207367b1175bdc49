"""What `staso status` reports, gathered as plain data (install, settings, spool, worker)."""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from staso_otel import settings as settings_mod


@dataclass(frozen=True)
class Unreachable:
    """Why no TCP connection opened: to the endpoint, or to the proxy the sender would go
    through (`proxy`: its host:port)."""

    error: str  # `ConnectionRefusedError: [Errno 111] Connection refused`
    proxy: str | None = None

    def __str__(self) -> str:
        return self.error if self.proxy is None else f"proxy {self.proxy}: {self.error}"


def endpoint_reachable(url: str, timeout_s: float = 2.0) -> Unreachable | None:
    """None if a TCP connection opens, else why not: to the proxy the sender would go
    through, when the environment names one for `url` (behind a corporate proxy the
    endpoint itself is often not reachable directly). Status's job, so it may touch the
    network; nothing else at start-up does."""
    from staso_otel.export.transport import proxy_for

    parts = urlsplit(url)
    where = (parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
    try:
        proxy = proxy_for(url)
    except ValueError as exc:  # a proxy the sender cannot use either
        return Unreachable(str(exc))
    via = None
    if proxy is not None:
        where, via = (proxy.host, proxy.port), f"{proxy.host}:{proxy.port}"
    try:
        with socket.create_connection(where, timeout=timeout_s):
            return None
    except OSError as exc:
        return Unreachable(f"{type(exc).__name__}: {exc}", via)


# A hook spawns the worker at every event if none runs, and a running worker reads a
# record within a second: a journal unread this long after its last write, with no worker,
# means workers that fail to start (or die at once).
STALLED_AFTER_S = 120.0


def _recorded() -> dict[str, Any]:
    """What the hooks recorded that no worker has read: sessions, bytes, the latest write,
    and whether that looks stalled (STALLED_AFTER_S, no worker running)."""
    from staso_otel import paths
    from staso_otel.hook.spawn import worker_running
    from staso_otel.pipeline.start import unprocessed

    unread = unprocessed(str(paths.staso_home()))
    last_ns = max((mtime for _, mtime in unread), default=0)
    quiet = bool(unread) and time.time_ns() - last_ns > STALLED_AFTER_S * 1e9
    return {
        "sessions": len(unread),
        "bytes": sum(size for size, _ in unread),
        "last_ns": last_ns or None,
        "stalled": quiet and not worker_running(),
    }


def _ago(ns: int | None) -> str:
    if not ns:
        return "never"
    seconds = max(time.time() - ns / 1e9, 0)
    return f"{seconds:.0f}s ago" if seconds < 120 else f"{seconds / 60:.0f} min ago"


def where_spans_go(s: settings_mod.Settings) -> list[tuple[str, str]]:
    """Where spans go, which setting put them there, whether the key goes along, and
    every variable that is set but not in effect."""
    src = s.source["endpoint"]
    why = f"profile {s.profile!r}" if src == "profile" else src
    lines = [("endpoint", f"{s.endpoint} ({why})"), ("api key", s.key_line())]
    sent = sorted(k for k in s.export_headers() if k != settings_mod.API_KEY_HEADER)
    if sent:
        lines.append(("headers", ", ".join(sent)))  # names only: values may be secrets
    if s.source.get("protocol", "default") != "default":
        lines.append(("protocol", f"{s.protocol} ({s.source['protocol']})"))
    from staso_otel.export.policy import policy, span_limits

    plan = policy(s)
    limits_note = span_limits()[1]
    lines.extend(plan.lines)
    if "console" in plan.exporters:
        from staso_otel import paths

        lines.append(("console", f"spans written to {paths.console_spans_file()}"))
    notes = (*s.notes, *plan.notes, *([limits_note] if limits_note else []))
    lines.extend(("note", note) for note in notes)
    return lines


def gather(
    scope: str | None = None,
    profile: str | None = None,
    codex_bin: str | None = None,
    target: str = "codex",
    binary: str | None = None,
) -> dict[str, Any]:
    from staso_otel.export.spool import Spool
    from staso_otel.pipeline.worker import read_status
    from staso_otel.targets import installers

    install = installers.get(target)
    lines, problems, install_fields = install.status_lines(scope, binary or codex_bin)
    endpoint: dict[str, Any] = {}
    reachable = False
    try:
        s = settings_mod.load(profile)
        endpoint = {"url": s.endpoint, "source": s.source["endpoint"], "profile": s.profile}
        lines.extend(where_spans_go(s))
        try:
            s.require_key()
        except settings_mod.SettingsError as exc:
            problems.append(str(exc))
        from staso_otel.export.otlp import probe

        refused = endpoint_reachable(s.endpoint)
        why = str(refused) if refused is not None else probe(s)
        lines.append(("reachable", "yes" if why is None else f"no ({why})"))
        reachable = why is None
        endpoint["unreachable_because"] = why
        if why is not None:
            problems.append(
                f"cannot reach {s.endpoint}: spans wait in the spool; check the "
                "URL or start the collector, then `staso flush`"
            )
    except settings_mod.SettingsError as exc:
        problems.append(str(exc))
    from staso_otel.export import losses

    usage = Spool().usage()
    lines.append(("spool", f"{usage['spans']} spans waiting, {usage['parked_spans']} parked"))
    lost = losses.current()
    lines.append(("lost", "; ".join(losses.summary(lost)) or "nothing"))
    if losses.any_lost(lost):
        problems.append(
            "data was lost (see `lost` and the staso log); `staso flush` reports it and "
            "starts the count again"
        )
    status = read_status()
    lines.append(("last export", _ago(status.get("last_export_ns"))))
    recorded = _recorded()
    if recorded["sessions"]:
        n = recorded["sessions"]
        lines.append(
            (
                "recorded",
                f"{recorded['bytes'] / 1000:.1f} KB of events in {n} session"
                f"{'s' if n != 1 else ''} not yet read by the worker (last written "
                f"{_ago(recorded['last_ns'])})",
            )
        )
    if recorded["stalled"]:
        import shlex

        from staso_otel.hook.spawn import worker_argv

        start = shlex.join(worker_argv())
        problems.append(
            "events the hooks recorded are not being read: no background worker runs and "
            f"the last was written {_ago(recorded['last_ns'])}; `staso flush` sends them "
            f"now, and `{start}`, run as the agent runs it, shows why no worker starts"
        )
    if status.get("last_error"):
        lines.append(
            ("last error", f"{status['last_error']} ({_ago(status.get('last_error_ns'))})")
        )
    if usage["parked_spans"]:
        problems.append(
            f"{usage['parked_spans']} spans were rejected by the backend (see "
            "last error); fix the key or endpoint, then `staso flush`"
        )
    # One structure: `lines` is its rendering for people, the rest the same facts typed
    # (`staso status --json` prints all but `lines`).
    return {
        "target": target,
        "agent": install.DISPLAY,
        "ok": not problems,
        "install": install_fields,
        "endpoint": endpoint,
        "reachable": reachable,
        "spool": usage,
        "lost": lost,
        "worker": status,
        "recorded": recorded,
        "problems": problems,
        "lines": lines,
    }
