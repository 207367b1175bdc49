"""The local trace store: spans in one SQLite file under STASO_HOME. [local]

Inserts are idempotent on (trace_id, span_id), so a span re-sent after a failed export
is stored once, as a backend would de-duplicate it.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from staso_otel import paths, semconv

SCHEMA = """
CREATE TABLE IF NOT EXISTS spans (
    trace_id TEXT NOT NULL,
    span_id TEXT NOT NULL,
    parent_span_id TEXT,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    start_ns INTEGER NOT NULL,
    end_ns INTEGER NOT NULL,
    status TEXT NOT NULL,
    status_message TEXT,
    session_id TEXT,
    attributes TEXT NOT NULL,
    resource TEXT NOT NULL,
    events TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (trace_id, span_id)
);
CREATE INDEX IF NOT EXISTS spans_session ON spans (session_id, start_ns);
CREATE INDEX IF NOT EXISTS spans_start ON spans (start_ns);
"""


class Store:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path or paths.store_file()
        paths.ensure_dir(self.path.parent)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, timeout=30)
        self._db.executescript(SCHEMA)
        self.path.chmod(paths.FILE_MODE)

    def close(self) -> None:
        self._db.close()

    def add(self, spans: Iterable[dict[str, Any]]) -> int:
        """Insert span dicts (see otlp_decode); returns how many were new."""
        rows = [
            (
                s["trace_id"],
                s["span_id"],
                s.get("parent_span_id"),
                s["name"],
                s["kind"],
                int(s["start_ns"]),
                int(s["end_ns"]),
                s.get("status", "UNSET"),
                s.get("status_message") or None,
                s["attributes"].get(semconv.SESSION_ID)
                or s["attributes"].get(semconv.GEN_AI_CONVERSATION_ID),
                json.dumps(s["attributes"]),
                json.dumps(s.get("resource") or {}),
                json.dumps(s.get("events") or []),
            )
            for s in spans
        ]
        with self._lock, self._db:
            before = self._db.total_changes
            self._db.executemany(
                "INSERT OR IGNORE INTO spans VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", rows
            )
            return self._db.total_changes - before

    def _rows(self, sql: str, args: tuple = ()) -> list[dict[str, Any]]:
        with self._lock:
            cursor = self._db.execute(sql, args)
            names = [c[0] for c in cursor.description]
            out = []
            for row in cursor.fetchall():
                item = dict(zip(names, row, strict=True))
                for key in ("attributes", "resource", "events"):
                    item[key] = json.loads(item[key])
                out.append(item)
        return out

    def trace(self, trace_id: str) -> list[dict[str, Any]]:
        return self._rows(
            "SELECT * FROM spans WHERE trace_id = ? ORDER BY start_ns, span_id", (trace_id,)
        )

    def trace_ids(
        self,
        *,
        session: str | None = None,
        last: int | None = None,
        agent: str | None = None,
        errors: bool = False,
    ) -> list[str]:
        """The `last` most recent traces that match, grouped by session (sessions in the
        order they started) and in time order within each."""
        where, args = [], []
        if session:
            where.append("session_id = ?")
            args.append(session)
        if agent:
            # staso's own spans name the agent in staso.target; the library's in gen_ai
            where.append(
                "COALESCE(json_extract(attributes, '$.\"staso.target\"'), "
                "json_extract(attributes, '$.\"gen_ai.agent.name\"')) = ?"
            )
            args.append(agent)
        sql = (
            "SELECT trace_id, MIN(start_ns) AS t, MAX(session_id) FROM spans"
            + (
                " WHERE trace_id IN (SELECT trace_id FROM spans WHERE " + " AND ".join(where) + ")"
                if where
                else ""
            )
            + " GROUP BY trace_id"
            + (" HAVING SUM(status = 'ERROR') > 0" if errors else "")
            + " ORDER BY t DESC"
        )
        if last:
            sql += f" LIMIT {int(last)}"
        with self._lock:
            rows = self._db.execute(sql, args).fetchall()
        first_seen: dict[str | None, int] = {}
        for _, start, sess in rows:
            first_seen[sess] = min(start, first_seen.get(sess, start))
        rows.sort(key=lambda r: (first_seen[r[2]], r[2] or "", r[1]))
        return [r[0] for r in rows]

    def sessions(self) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT session_id, COUNT(DISTINCT trace_id), MIN(start_ns), MAX(end_ns) "
                "FROM spans WHERE session_id IS NOT NULL GROUP BY session_id "
                "ORDER BY MIN(start_ns)"
            ).fetchall()
        return [
            {"session_id": r[0], "traces": r[1], "start_ns": r[2], "end_ns": r[3]} for r in rows
        ]

    def count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM spans").fetchone()[0])
