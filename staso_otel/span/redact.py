"""Redaction and size caps: the one content chokepoint every span passes before the spool.

Secrets are replaced by `[REDACTED:<kind>]` (span/secrets.py finds them); a string longer
than the cap is cut, and when it is JSON the cut happens inside the parsed value (long
strings and lists shortened), so what reaches the backend still parses. Pure functions,
stdlib only.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from staso_otel import semconv
from staso_otel.span.model import PLAIN_TYPES, JoinedText, SpanData, SpanEvent
from staso_otel.span.secrets import redact_text

__all__ = [
    "TRUNCATION_MARK",
    "cap_text",
    "clean_attributes",
    "clean_scope",
    "clean_span",
    "redact_span",
    "redact_spans",
    "redact_text",
    "shrink",
]


TRUNCATION_MARK = "…[truncated]"


def _cut_utf8(text: str, max_bytes: int) -> str:
    data = text.encode("utf-8", "surrogatepass")
    if len(data) <= max_bytes:
        return text
    return data[:max_bytes].decode("utf-8", "ignore")


def shrink(value: Any, budget: int) -> Any:
    """Shorten a parsed JSON value so its serialisation fits roughly in `budget` bytes;
    what was cut is marked where it was (TRUNCATION_MARK, "more items truncated")."""
    if not isinstance(value, (str, list, dict)):
        return value  # nothing to cut (and nothing serialised: it may not be JSON)
    return _shrink(value, budget)[0]


def _dumped_len(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False))


def _joined(sizes: list[int]) -> int:
    """The length of a JSON array or object whose items serialise to `sizes` characters
    (json.dumps's default `, ` between them)."""
    return 2 + sum(sizes) + 2 * max(len(sizes) - 1, 0)


def _shrink(value: Any, budget: int) -> tuple[Any, int]:
    """`shrink`, with the length of the result as json.dumps writes it. Each level adds
    its children's lengths instead of serialising them again, so a long conversation
    (messages, parts, texts) is serialised once, not once per level of nesting."""
    if isinstance(value, str):
        # serialised, a string takes at least its length and two quotes
        dumped = json.dumps(value, ensure_ascii=False) if len(value) + 2 <= budget else ""
        if dumped and _utf8_len(dumped) <= budget:
            return value, len(dumped)
        # Measured as serialised: a newline or tab takes two bytes once escaped, so a
        # cut by raw length overshoots and the caller would drop the whole key instead.
        keep = max(budget - len(TRUNCATION_MARK) * 3 - 2, 16)
        cut = _cut_utf8(value, keep)
        for _ in range(8):  # bounded: each round keeps three quarters
            dumped = json.dumps(cut + TRUNCATION_MARK, ensure_ascii=False)
            if _utf8_len(dumped) <= budget or keep <= 16:
                break
            keep = max(keep * 3 // 4, 16)
            cut = _cut_utf8(cut, keep)
        else:
            dumped = json.dumps(cut + TRUNCATION_MARK, ensure_ascii=False)
        return cut + TRUNCATION_MARK, len(dumped)
    if isinstance(value, list):
        out: list[Any] = []
        sizes: list[int] = []
        used = 2
        for i, item in enumerate(value):
            share = max((budget - used) // max(len(value) - i, 1), 64)
            small, size = _shrink(item, share)
            if used + size + 1 > budget:
                mark = f"…[{len(value) - i} more items truncated]"
                out.append(mark)
                sizes.append(_dumped_len(mark))
                break
            out.append(small)
            sizes.append(size)
            used += size + 1
        return out, _joined(sizes)
    if isinstance(value, dict):
        result: dict[str, Any] = {}
        sizes = []
        used = 2
        items = list(value.items())
        for i, (key, item) in enumerate(items):
            share = max((budget - used) // max(len(items) - i, 1), 64)
            small, size = _shrink(item, share)
            if isinstance(key, str):  # the length of `{"key": small}`
                size += _dumped_len(key) + 4
            else:  # json.dumps makes a number or None a key its own way
                size = _dumped_len({key: small})
            if used + size > budget:
                result["…"] = f"[{len(items) - i} more keys truncated]"
                sizes.append(_dumped_len({"…": result["…"]}) - 2)
                break
            result[key] = small
            sizes.append(size - 2)
            used += size
        return result, _joined(sizes)
    return value, _dumped_len(value)


def _utf8_len(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


def cap_text(text: str, max_bytes: int) -> tuple[str, bool]:
    """Fit `text` in `max_bytes`; JSON stays valid JSON. Returns (text, was_cut)."""
    if max_bytes <= 0 or len(text) * 1 <= max_bytes // 4:  # fast path: surely small
        return text, False
    if len(text.encode("utf-8", "surrogatepass")) <= max_bytes:
        return text, False
    stripped = text.lstrip()
    if stripped[:1] in ("{", "[", '"'):
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None
        if parsed is not None:
            budget = max_bytes
            for _ in range(6):  # shrink until it fits; bounded
                out = json.dumps(shrink(parsed, budget), ensure_ascii=False)
                if len(out.encode("utf-8", "surrogatepass")) <= max_bytes:
                    return out, True
                budget = budget * 2 // 3
            return json.dumps(TRUNCATION_MARK), True
    cut = _cut_utf8(text, max(max_bytes - len(TRUNCATION_MARK.encode()), 0))
    return cut + TRUNCATION_MARK, True


def _clean_text(
    value: str, max_bytes: int, scan: Callable[[str], tuple[str, int]] | None = None
) -> tuple[str, int, bool]:
    """Redact and cap one text; `scan` finds the secrets (redact_text unless given)."""
    scan = scan or redact_text
    if max_bytes <= 0 or len(value) <= max_bytes // 4:
        # Surely under the cap (cap_text's own fast path, taken here to skip both calls):
        # only a replacement marker longer than its secret can push it over.
        text, count = scan(value)
        if count and max_bytes > 0:
            text, cut = cap_text(text, max_bytes)
            return text, count, cut
        return text, count, False
    # Cap before scanning (bounded work on a 50 MB output), then cap again because a
    # replacement marker can be longer than the secret it replaced.
    capped, cut = cap_text(value, max_bytes * 2 if max_bytes else 0)
    text, count = scan(capped)
    text, cut2 = cap_text(text, max_bytes)
    return text, count, cut or cut2


class Memo:
    """(text, cap) -> what redaction and the cap made of it, for texts seen again.

    Redaction is a function of the text and the cap alone, so a text met again (the
    session id, cwd and model on every span of a session, a tool's arguments as both
    `gen_ai.tool.call.arguments` and `input.value`, the same system prompt in every
    chat span and session) is looked up instead of scanned again. Most texts come out as
    they went in: those are kept as a set per cap (`_as_is`: one membership test, and no
    result to keep), the others with their result. A short text (a quarter of the cap at
    most, which `_clean_text` never cuts) comes out of every cap as it comes out of cap
    0, where it is kept: clean in `known_clean` (cap 0's set), or with its secrets
    replaced, the cap applied again for a marker longer than its secret. So a message's
    text cleaned in its messages array (uncut) is known when it comes again as
    `output.value` or in the OpenInference copies. A messages array is not kept whole: it
    is rarely met again as a whole, and its messages are (`_scan_pieces`). Bounded:
    emptied when the texts it keeps pass `budget` characters.
    """

    def __init__(self, budget: int = 4_000_000) -> None:
        self.budget = budget
        # by cap, then by text: a lookup hashes the text alone (its hash is kept in the str)
        self._as_is: defaultdict[int, set[str]] = defaultdict(set)
        self._done: defaultdict[int, dict[str, tuple[str, int, bool]]] = defaultdict(dict)
        self._used = 0
        # the texts redaction leaves as they are (`_as_is[0]`: cleared in place, never replaced)
        self.known_clean: set[str] = self._as_is[0]

    def clean(self, text: str, max_bytes: int) -> tuple[str, int, bool]:
        """What `_clean_text` makes of `text` under `max_bytes`, as (text, secrets, cut)."""
        short = max_bytes <= 0 or len(text) <= max_bytes // 4
        if text in (self.known_clean if short else self._as_is[max_bytes]):
            return _plain(text), 0, False
        return self.clean_new(text, max_bytes)

    def clean_new(self, text: str, max_bytes: int) -> tuple[str, int, bool]:
        """`clean` of a text the caller did not find known: in `known_clean` if it is
        short for the cap, else in its cap's set of texts left as they are."""
        short = max_bytes <= 0 or len(text) <= max_bytes // 4  # _clean_text's fast path
        if type(text) is JoinedText:
            if short:  # not kept whole (see the class doc)
                found, count = self._scan_pieces(text)
                if count and max_bytes > 0:
                    found, cut = cap_text(found, max_bytes)
                    return found, count, cut
                return found, count, False
            return self._cleaned(text, max_bytes, self._scan_pieces)
        if short:
            uncut = self._done[0].get(text)
            if uncut is not None:  # its secrets replaced already: only the cap is left
                if max_bytes <= 0:
                    return uncut
                capped, cut = cap_text(uncut[0], max_bytes)
                return capped, uncut[1], cut
            found, count = redact_text(text)  # _clean_text's fast path, without its call
            if not count:  # the common case: clean under any cap it is short for
                self._keep(self.known_clean, text, len(text))
                return text, 0, False
            return self._replaced(text, found, count, max_bytes)
        return self._cleaned(text, max_bytes)

    def _replaced(self, text: str, found: str, count: int, max_bytes: int) -> tuple[str, int, bool]:
        """A short text whose `count` secrets redact_text replaced (`found`): kept as its
        result under cap 0, which holds for every cap, and the cap applied."""
        uncut = (found, count, False)
        self._keep(self._done[0], text, len(text) + len(found), uncut)
        if max_bytes <= 0:
            return uncut
        capped, cut = cap_text(found, max_bytes)  # a marker may be longer than its secret
        return capped, count, cut

    def clean_into(
        self, out: dict[str, Any], attributes: Mapping[str, Any], max_bytes: int
    ) -> tuple[int, list[str], bool]:
        """`clean` of every string attribute of `attributes`, into `out` (which may be
        `attributes` itself: a value that changes is set again, in its key's place).
        Returns (secrets replaced, keys cut, whether every value is of PLAIN_TYPES). The
        known texts are asked for here without a call, and a new short text that comes
        out clean (the commonest case after them) is scanned and kept here too."""
        as_is = self._as_is[max_bytes]
        known = self.known_clean
        replaced = self._done[0]
        clean_new = self.clean_new
        short = max_bytes // 4 if max_bytes > 0 else sys.maxsize
        secrets = 0
        cut_keys: list[str] = []
        plain = True
        for key, value in attributes.items():
            kind = type(value)
            if kind is str:
                if len(value) > short:
                    if value in as_is:
                        continue
                    done = clean_new(value, max_bytes)
                elif value in known:
                    continue
                elif value in replaced:
                    done = clean_new(value, max_bytes)
                else:  # clean_new's short path, without its call
                    found, count = redact_text(value)
                    if not count:
                        known.add(value)  # as clean_new keeps it (the budget: below)
                        self._used += len(value)
                        continue
                    done = self._replaced(value, found, count, max_bytes)
            elif kind is int or kind is float or kind is bool:  # numbers hold no secret
                continue
            elif kind is JoinedText:  # a messages array (a plain str comes out of the memo)
                done = clean_new(value, max_bytes)
                plain = plain and type(done[0]) is str
            else:
                done = _clean_value(value, max_bytes, self)
                plain = plain and type(done[0]) in PLAIN_TYPES
            clean, count, cut = done
            if clean is not value:  # a value set again keeps its key's place
                out[key] = clean
            secrets += count
            if cut:
                cut_keys.append(key)
        if self._used > self.budget:  # over by one span's new texts at most
            self._let_go()
        return secrets, cut_keys, plain

    def _cleaned(
        self, text: str, max_bytes: int, scan: Callable[[str], tuple[str, int]] | None = None
    ) -> tuple[str, int, bool]:
        """A long text under its cap: looked up, or cleaned and kept (see the class doc)."""
        table = self._done[max_bytes]
        done = table.get(text)
        if done is not None:
            return done
        done = _clean_text(text, max_bytes, scan)
        if done[1] or done[2]:
            self._keep(table, _plain(text), len(text) + len(done[0]), done)
        elif type(text) is not JoinedText:  # an array is not kept whole
            self._keep(self._as_is[max_bytes], text, len(text))
        return done

    def _keep(
        self,
        where: set[str] | dict[str, tuple[str, int, bool]],
        text: str,
        size: int,
        done: tuple[str, int, bool] | None = None,
    ) -> None:
        """Keep `text` (with its result `done`, if it changed) at `size` characters of
        the budget."""
        if self._used + size > self.budget:
            self._let_go()
        if size <= self.budget:
            if done is None:
                where.add(text)  # type: ignore[union-attr]
            else:
                where[text] = done  # type: ignore[index]
            self._used += size

    def _let_go(self) -> None:
        """Past the budget: everything kept so far is let go."""
        for texts in self._as_is.values():
            texts.clear()
        for kept in self._done.values():
            kept.clear()
        self._used = 0

    def _scan_pieces(self, text: str) -> tuple[str, int]:
        """redact_text of a messages array, each message scanned (or looked up) on its
        own, and a text standing apart in its quotes (JoinedText.texts) as its bare text.
        Every corpus secret comes out the same as from the whole (tests hold them to it);
        what differs is only a match across two messages, which took the array's own
        `"}]},{"` as the value of an `API_KEY=` ending the first and broke the JSON.
        An array over twice the cap arrives here already cut: a plain str, scanned whole."""
        if type(text) is not JoinedText:
            return redact_text(text)
        count = 0
        pieces = text.pieces
        changed: list[str] | None = None  # the pieces, copied once one of them changes
        bare = dict(text.texts) if text.texts else _NO_TEXTS
        known = self.known_clean  # redacted, not cut
        for i, piece in enumerate(pieces):
            # the array's own brackets and commas, or a message known to hold nothing
            if len(piece) == 1 or piece in known:
                continue
            own = bare.get(i)
            if own is not None:
                if own in known:
                    continue
                clean, found, _ = self.clean_new(own, 0)
                if not found:
                    continue
                clean = '"' + clean + '"'
            else:
                clean, found, _ = self.clean_new(piece, 0)
                if not found:
                    continue
            if changed is None:
                changed = list(pieces)
            changed[i] = clean
            count += found
        if changed is None:
            return _plain(text), 0
        return "".join(changed), count


_NO_TEXTS: dict[int, str] = {}


def _plain(text: str) -> str:
    """The text as a plain str (a JoinedText's pieces stay with the JoinedText)."""
    return text if type(text) is str else str.__str__(text)


def _clean_value(value: Any, max_bytes: int, memo: Memo) -> tuple[Any, int, bool]:
    if isinstance(value, str):
        return memo.clean(value, max_bytes)
    if isinstance(value, (list, tuple)) and value and isinstance(value[0], str):
        items = []
        total = 0
        cut_any = False
        for item in value:
            clean, count, cut = _clean_value(item, max_bytes, memo)
            items.append(clean)
            total += count
            cut_any = cut_any or cut
        return tuple(items), total, cut_any
    return value, 0, False


def clean_attributes(
    attributes: Mapping[str, Any], max_bytes: int, memo: Memo | None = None
) -> tuple[dict[str, Any], int, list[str]]:
    """Redact and cap every string attribute; returns (attributes, secrets, cut keys)."""
    out = dict(attributes)
    secrets, cut_keys, _ = (memo or Memo()).clean_into(out, attributes, max_bytes)
    return out, secrets, cut_keys


def clean_span(
    span: SpanData, max_bytes: int, memo: Memo | None = None
) -> tuple[str, dict[str, Any], tuple[SpanEvent, ...], str | None]:
    """What `redact_span` makes of a span, as (name, attributes, events, status
    description)."""
    memo = memo or Memo()
    attributes, secrets, cut_keys = clean_attributes(span.attributes, max_bytes, memo)
    events = []
    for event in span.events:
        ev_attrs, found, _ = clean_attributes(event.attributes, max_bytes, memo)
        events.append(SpanEvent(event.name, event.time_ns, ev_attrs))
        secrets += found
    name, description = _counted(
        span.name, attributes, secrets, cut_keys, span.status_description, max_bytes, memo
    )
    return name, attributes, tuple(events), description


def clean_scope(
    name: str,
    attributes: dict[str, Any],
    description: str | None,
    max_bytes: int,
    memo: Memo,
) -> tuple[str, dict[str, Any], str | None, bool]:
    """`clean_span` of a library scope's span, given by its parts (it has no events and no
    SpanData), in place in `attributes`, the builder's own dict made for it. Returns
    (name, attributes, status description, whether every value is a str, int, float, bool
    or tuple: what the SDK stores as it is given)."""
    secrets, cut_keys, plain = memo.clean_into(attributes, attributes, max_bytes)
    name, description = _counted(name, attributes, secrets, cut_keys, description, max_bytes, memo)
    return name, attributes, description, plain


def _counted(
    name: str,
    attributes: dict[str, Any],
    secrets: int,
    cut_keys: list[str],
    description: str | None,
    max_bytes: int,
    memo: Memo,
) -> tuple[str, str | None]:
    """The name and status description cleaned, and what was replaced and cut counted in
    the cleaned attributes."""
    if description:
        description, found, _ = _clean_value(description, min(max_bytes, 4096) or 4096, memo)
        secrets += found
    # 0: redacted, never cut; a span's name is most often one met before, known clean
    if name not in memo.known_clean:
        name, found, _ = memo.clean_new(name, 0)
        secrets += found
    if secrets:
        attributes[semconv.STASO_REDACTED] = secrets + int(
            attributes.get(semconv.STASO_REDACTED, 0)
        )
    if cut_keys:
        attributes[semconv.STASO_TRUNCATED] = tuple(sorted(cut_keys))
    return name, description


def redact_span(span: SpanData, max_bytes: int, memo: Memo | None = None) -> SpanData:
    """The transform applied to every span before it is spooled: attributes, event
    attributes, the status description and the name (a tool or model name is content
    the agent chose) are all redacted; `staso.redacted` counts every secret replaced."""
    name, attributes, events, description = clean_span(span, max_bytes, memo)
    # built directly: dataclasses.replace walks the fields on every call (a test checks
    # that every field is carried over)
    return SpanData(
        trace_id=span.trace_id,
        span_id=span.span_id,
        parent_span_id=span.parent_span_id,
        name=name,
        kind=span.kind,
        start_ns=span.start_ns,
        end_ns=span.end_ns,
        attributes=attributes,
        status=span.status,
        status_description=description,
        events=events,
        target=span.target,
    )


def redact_spans(
    spans: Iterable[SpanData], max_bytes: int, memo: Memo | None = None
) -> list[SpanData]:
    """redact_span for many spans, each distinct text scanned once (see Memo): the same
    result as span by span, every occurrence still counted in `staso.redacted`."""
    memo = Memo() if memo is None else memo
    return [redact_span(span, max_bytes, memo) for span in spans]
