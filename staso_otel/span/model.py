"""SpanData: a finished span as plain, frozen data that round-trips through JSON. [stdlib]

Builders produce it, redaction transforms it, the spool stores it, and `export/otlp.py`
turns it into an SDK `ReadableSpan` in exactly one place. Times are integer nanoseconds
since the epoch from capture to export; ids are integers (see `ids.py`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from operator import attrgetter
from typing import Any

from staso_otel import semconv

AttributeValue = str | bool | int | float | Sequence[str] | Sequence[int] | Sequence[float]
# the types of the values the builders make (a sequence as a tuple): an SDK span stores
# them as it is given them (api/attributes.py)
PLAIN_TYPES: frozenset[type] = frozenset({str, int, float, bool, tuple})


class JoinedText(str):
    """A text that is its `pieces` joined: a JSON array of messages, made one message at a
    time. It is a str everywhere; redaction alone reads the pieces, so a message met again
    (the system prompt of every model call, the history each call repeats) is looked up
    instead of scanned again. `texts` names the pieces that are a text written as a JSON
    string as it is, quotes around it (index, the bare text): redaction looks the bare text
    up, shared with the attributes that carry it bare (`output.value`, the OpenInference
    copies), instead of scanning it again in its quotes, which hold the same secrets.
    Anything made from it (a slice, a cut, a copy through JSON) is a plain str."""

    pieces: tuple[str, ...]
    texts: tuple[tuple[int, str], ...]

    def __new__(cls, pieces: Sequence[str], texts: Sequence[tuple[int, str]] = ()) -> JoinedText:
        self = super().__new__(cls, "".join(pieces))
        self.pieces = tuple(pieces)
        self.texts = tuple(texts)
        return self

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        # the bare texts by their pieces' places only: each is its piece without the quotes,
        # and carried whole it doubled what the import's child hands its parent
        return _joined, (self.pieces, tuple(i for i, _ in self.texts))


def _joined(pieces: tuple[str, ...], at: tuple[int, ...]) -> JoinedText:
    """A pickled JoinedText again (see __reduce__)."""
    return JoinedText(pieces, [(i, pieces[i][1:-1]) for i in at])


@dataclass(frozen=True, slots=True)
class SpanEvent:
    name: str
    time_ns: int
    attributes: Mapping[str, AttributeValue] = field(default_factory=dict)

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return SpanEvent, _EVENT_FIELDS(self)


@dataclass(frozen=True, slots=True)
class SpanData:
    trace_id: int
    span_id: int
    parent_span_id: int | None
    name: str
    kind: str  # semconv.KIND_*
    start_ns: int
    end_ns: int
    attributes: Mapping[str, AttributeValue] = field(default_factory=dict)
    status: str = semconv.STATUS_UNSET  # semconv.STATUS_*
    status_description: str | None = None
    events: tuple[SpanEvent, ...] = ()
    target: str = ""  # which agent produced it (codex, claude-code, api): picks the resource

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        # Pickled by its fields in order, rebuilt by its constructor: the import's rebuild
        # child hands every span to its parent this way, and a frozen, slotted dataclass's
        # own pickling looks its fields up again for each span (2.5x the time to load)
        return SpanData, _SPAN_FIELDS(self)

    def with_attributes(self, attributes: Mapping[str, AttributeValue]) -> SpanData:
        return replace(self, attributes=attributes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "trace_id": f"{self.trace_id:032x}",
            "span_id": f"{self.span_id:016x}",
            "parent_span_id": None
            if self.parent_span_id is None
            else f"{self.parent_span_id:016x}",
            "name": self.name,
            "kind": self.kind,
            "start_ns": self.start_ns,
            "end_ns": self.end_ns,
            "attributes": {
                k: list(v) if isinstance(v, (list, tuple)) else v
                for k, v in self.attributes.items()
            },
            "status": self.status,
            "status_description": self.status_description,
            "events": [
                {"name": e.name, "time_ns": e.time_ns, "attributes": dict(e.attributes)}
                for e in self.events
            ],
            "target": self.target,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SpanData:
        parent = data.get("parent_span_id")
        return cls(
            trace_id=int(data["trace_id"], 16),
            span_id=int(data["span_id"], 16),
            parent_span_id=None if parent is None else int(parent, 16),
            name=str(data["name"]),
            kind=str(data["kind"]),
            start_ns=int(data["start_ns"]),
            end_ns=int(data["end_ns"]),
            attributes={
                k: tuple(v) if isinstance(v, list) else v
                for k, v in dict(data.get("attributes") or {}).items()
            },
            status=str(data.get("status") or semconv.STATUS_UNSET),
            status_description=data.get("status_description"),
            events=tuple(
                SpanEvent(e["name"], int(e["time_ns"]), dict(e.get("attributes") or {}))
                for e in data.get("events") or ()
            ),
            target=str(data.get("target") or ""),
        )


# Every field, in order (a slotted dataclass's __slots__ are its fields), read in one call.
_EVENT_FIELDS = attrgetter(*SpanEvent.__slots__)
_SPAN_FIELDS = attrgetter(*SpanData.__slots__)
