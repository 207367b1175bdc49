"""A finished scope's attributes onto its live SDK span, validated once. [api]

What a scope sets is already what the SDK's `set_attributes` would make of it: the
builders and redaction leave only str, int, float, bool and tuples of one primitive type
(span/build.py `_put`), under non-empty str keys. The SDK checks every value again
(`opentelemetry.attributes._clean_attribute_value`, a few microseconds an attribute) and
copies the mapping twice, which made up a third of a library span's cost. So on the
SDK's own span, with no value length limit and room under its count limit, they go
straight into its attribute map, under its locks, exactly where `set_attributes` would
put them (a key set again moves to the end); anything else (a value of another type,
limits that apply, an ended span, another SDK) takes `set_attributes` itself. The types
are looked at once: redaction, which reads every value anyway, says whether each is of
PLAIN_TYPES (`redact.clean_scope`), and only a tool's facts bring keys of the caller's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opentelemetry.attributes import BoundedAttributes
from opentelemetry.sdk.trace import Span as SdkSpan

from staso_otel.span.model import PLAIN_TYPES

_KEY = frozenset({str})


def plain_keys(attributes: Mapping[Any, Any]) -> bool:
    """Whether every key is a non-empty str, as the SDK keeps it."""
    return _KEY.issuperset(map(type, attributes)) and "" not in attributes


def _plain(attributes: Mapping[str, Any]) -> bool:
    # map(type, ...) into issuperset: the types are looked at in C, not in a Python loop
    return PLAIN_TYPES.issuperset(map(type, attributes.values())) and plain_keys(attributes)


def _direct(span: Any, store: BoundedAttributes, attributes: Mapping[str, Any]) -> bool:
    """Put plain attributes into the span's map as `set_attributes` would; False (and
    nothing done) when one of the SDK's checks could change or drop one."""
    with span._lock, store._lock:  # the locks set_attributes holds
        items = store._dict
        maxlen = store.maxlen
        if (
            span._end_time is not None
            or store._immutable
            or store.max_value_len is not None
            or (maxlen is not None and len(items) + len(attributes) > maxlen)
        ):
            return False
        if items:  # the application set some while the scope ran
            for key, value in attributes.items():
                items.pop(key, None)
                items[key] = value
        else:
            items.update(attributes)
    return True


def set_attributes(span: Any, attributes: Mapping[str, Any], *, checked: bool = False) -> None:
    """`span.set_attributes(attributes)`, without the SDK's second check of values
    staso made (see the module doc for when it takes the SDK's own path). `checked`: the
    caller knows every key is a non-empty str and every value of PLAIN_TYPES (a
    scope's cleaned attributes: redact.clean_scope), so they are not looked at again."""
    store = getattr(span, "_attributes", None)
    if (
        isinstance(span, SdkSpan)
        and type(store) is BoundedAttributes
        and (checked or _plain(attributes))
        and _direct(span, store, attributes)
    ):
        return
    span.set_attributes(attributes)
