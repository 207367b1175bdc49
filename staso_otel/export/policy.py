"""What the OTel SDK environment says about exporting, for spans built outside the SDK. [export]

The hooks' spans never pass through a TracerProvider, so nothing would read
OTEL_SDK_DISABLED, OTEL_TRACES_EXPORTER, OTEL_TRACES_SAMPLER(_ARG) or the span-limit
variables for them. This applies them with the SDK's own classes: its samplers decide on
the trace id alone (every span of a trace is a root-less decision on the same id, so a
trace is kept or dropped whole, in every batch and every worker), and `SpanLimits()`
reads the limit variables exactly as a TracerProvider would. The SDK is imported only
when a sampler is set: a worker start stays cheap. The span limits are read here with
SpanLimits' own rules (tests/test_encode.py compares the two for random variables), so
that a worker sending spans never loads the SDK.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from staso_otel.export.encode import Limits
from staso_otel.settings import Settings
from staso_otel.span.model import SpanData

DEFAULT_SAMPLER = "parentbased_always_on"
_KEEP_ALL = ("always_on", "parentbased_always_on")  # no spans dropped: nothing to import
_FIXED = {  # name -> attribute of opentelemetry.sdk.trace.sampling
    "always_on": "ALWAYS_ON",
    "always_off": "ALWAYS_OFF",
    "parentbased_always_on": "DEFAULT_ON",
    "parentbased_always_off": "DEFAULT_OFF",
}
_RATIO = {
    "traceidratio": "TraceIdRatioBased",
    "parentbased_traceidratio": "ParentBasedTraceIdRatio",
}


@dataclass(frozen=True)
class Policy:
    """Whether spans are exported at all, where to, which ones, within which limits."""

    exporters: tuple[str, ...]  # of "otlp", "console"; empty: spans are dropped
    sampler: Any  # an SDK Sampler; None: every span is kept
    lines: tuple[tuple[str, str], ...] = ()  # for `staso status`
    notes: tuple[str, ...] = ()  # variables set but not applied as given: status and log

    @property
    def exporting(self) -> bool:
        return bool(self.exporters)

    def keep(self, spans: Sequence[SpanData]) -> list[SpanData]:
        """The spans to export: none when disabled, else those the sampler keeps."""
        if not self.exporting:
            return []
        if self.sampler is None:
            return list(spans)
        decided: dict[int, bool] = {}
        kept = []
        for span in spans:
            if span.trace_id not in decided:
                result = self.sampler.should_sample(None, span.trace_id, span.name)
                decided[span.trace_id] = result.decision.is_sampled()
            if decided[span.trace_id]:
                kept.append(span)
        return kept


def policy(settings: Settings) -> Policy:
    lines: list[tuple[str, str]] = []
    notes: list[str] = []
    exporters: tuple[str, ...] = tuple(settings.traces_exporter)
    if settings.sdk_disabled:
        exporters = ()
        lines.append(("exporting", "no: OTEL_SDK_DISABLED=true, spans are dropped"))
    elif not exporters:
        lines.append(("exporting", "no: OTEL_TRACES_EXPORTER=none, spans are dropped"))
    elif settings.source.get("traces_exporter") != "default":
        lines.append(("exporters", f"{','.join(exporters)} (OTEL_TRACES_EXPORTER)"))
    sampler = _sampler(settings, lines, notes)
    return Policy(exporters, sampler, tuple(lines), tuple(notes))


def span_limits() -> tuple[Limits, str | None]:
    """The span limits from OTEL_*_LIMIT, read as the SDK's SpanLimits() reads them (its
    precedence, defaults and "unset"), and a note when a value is bad: the SDK would
    refuse to start, the hooks must not stop."""
    try:  # in SpanLimits' order, so a bad value is named as it names it
        events = _limit("OTEL_SPAN_EVENT_COUNT_LIMIT", 128)
        _limit("OTEL_SPAN_LINK_COUNT_LIMIT", 128)
        every = _limit("OTEL_ATTRIBUTE_COUNT_LIMIT", None)
        count = 128 if every is None else every
        span_attrs = _limit("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", count)
        event_attrs = _limit("OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT", count)
        _limit("OTEL_LINK_ATTRIBUTE_COUNT_LIMIT", count)
        length = _limit("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", None)
        span_length = _limit("OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", length)
        limits = Limits(span_attrs, events, event_attrs, length, span_length)
        return limits, None
    except ValueError as exc:
        return Limits(), f"span limits ignored, SDK defaults used: {exc}"


def _limit(name: str, default: int | None) -> int | None:
    """SpanLimits._from_env_if_absent: unset -> default, "" -> no limit, else an int >= 0.
    The link limits are read only to fail as SpanLimits fails (staso makes no links)."""
    if name not in os.environ:
        return default
    text = os.environ[name].strip().lower()
    if text == "":
        return None
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"{name} must be a non-negative integer but got {text}") from None
    if value < 0:
        raise ValueError(f"{name} must be a non-negative integer but got {value}")
    return value


def _sampler(settings: Settings, lines: list[tuple[str, str]], notes: list[str]) -> Any:
    name = (settings.traces_sampler or DEFAULT_SAMPLER).strip().lower()
    arg = settings.traces_sampler_arg
    if name in _KEEP_ALL and settings.source.get("traces_sampler") == "default":
        return None
    from opentelemetry.sdk.trace import sampling as sdk_sampling

    if name in _FIXED:
        sampler = getattr(sdk_sampling, _FIXED[name])
    elif name in _RATIO:
        try:
            rate = 1.0 if arg in (None, "") else float(arg)
            if not 0.0 <= rate <= 1.0:
                raise ValueError(rate)
        except ValueError:
            notes.append(f"OTEL_TRACES_SAMPLER_ARG={arg} is not a ratio in [0, 1]: using 1.0")
            rate = 1.0
        sampler = getattr(sdk_sampling, _RATIO[name])(rate)
    else:
        notes.append(
            f"OTEL_TRACES_SAMPLER={settings.traces_sampler} is not a sampler staso has "
            f"(it has {', '.join([*_FIXED, *_RATIO])}): using {DEFAULT_SAMPLER}, as the SDK does"
        )
        sampler = sdk_sampling.DEFAULT_ON
    lines.append(("sampler", f"{sampler.get_description()} (OTEL_TRACES_SAMPLER)"))
    keeps_all = sampler is sdk_sampling.ALWAYS_ON or sampler is sdk_sampling.DEFAULT_ON
    return None if keeps_all else sampler
