"""Redaction and size caps: the one content chokepoint every span passes before the spool.

Secrets are replaced by `[REDACTED:<kind>]`; a string longer than the cap is cut, and when
it is JSON the cut happens inside the parsed value (long strings and lists shortened),
so what reaches the backend still parses. Pure functions, stdlib only.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from staso_otel import semconv
from staso_otel.span.model import SpanData, SpanEvent

# (kind, pattern). Each pattern matches the secret itself, or a group named "secret"
# inside a wider match when the context (a key name, a URL) is what identifies it.
_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "private_key",
        re.compile(
            r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----.*?"
            r"(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|\Z)",
            re.S,
        ),
    ),
    ("aws_access_key", re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}\b")),
    ("gcp_api_key", re.compile(r"\bAIza[0-9A-Za-z_\-]{35}\b")),
    ("anthropic_key", re.compile(r"\bsk-ant-[A-Za-z0-9_\-]{20,}")),
    ("openai_key", re.compile(r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,}")),
    ("github_token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,})")),
    ("gitlab_token", re.compile(r"\bglpat-[A-Za-z0-9_\-]{20,}")),
    ("slack_token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}")),
    ("stripe_key", re.compile(r"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}")),
    ("google_oauth", re.compile(r"\bya29\.[A-Za-z0-9_\-]{20,}")),
    ("npm_token", re.compile(r"\bnpm_[A-Za-z0-9]{36}\b")),
    ("huggingface_token", re.compile(r"\bhf_[A-Za-z0-9]{30,}\b")),
    ("jwt", re.compile(r"\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}")),
    ("url_password", re.compile(r"(?<=://)[^/\s:@'\"]{1,256}:(?P<secret>[^/\s@'\"]{1,256})(?=@)")),
    ("bearer_token", re.compile(r"(?i)\b(?:bearer|token)\s+(?P<secret>[A-Za-z0-9._~+/\-]{16,}=*)")),
    (
        "azure_key",
        re.compile(r"(?i)(?:AccountKey|SharedAccessKey|sig)=(?P<secret>[A-Za-z0-9+/%]{20,}={0,2})"),
    ),
    # KEY=value lines (.env files, `export X=...`, JSON "key": "value") whose name says secret.
    (
        "secret_assignment",
        re.compile(
            r"(?i)\b[A-Z0-9_.\-]*(?:api[_\-]?key|secret|token|passw(?:or)?d|passwd|credential"
            r"|private[_\-]?key|access[_\-]?key)[A-Z0-9_\-]*[\"']?\s*[:=]\s*[\"']?"
            r"(?P<secret>(?=[^\s\"',;]*[A-Za-z])[^\s\"',;]{6,})"
        ),
    ),
)

# Cheap prefilter: a string with none of these substrings cannot match any pattern,
# which keeps multi-megabyte tool outputs from paying for 17 regex scans.
_HINTS = re.compile(
    r"(?i)PRIVATE KEY|AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA|AIza|sk-|gh[pousr]_|github_pat_"
    r"|glpat-|xox|_live_|_test_|ya29\.|npm_|hf_|eyJ|://|bearer|token|AccountKey|SharedAccessKey"
    r"|sig=|key|secret|passw|credential"
)

TRUNCATION_MARK = "…[truncated]"


def redact_text(text: str) -> tuple[str, int]:
    """Replace every secret in `text`; returns (text, number replaced)."""
    if not _HINTS.search(text):
        return text, 0
    count = 0
    for kind, pattern in _PATTERNS:
        marker = f"[REDACTED:{kind}]"

        def _sub(match: re.Match[str], marker: str = marker) -> str:
            nonlocal count
            count += 1
            if "secret" in match.re.groupindex and match.group("secret") is not None:
                start, end = match.span("secret")
                whole_start = match.start()
                whole = match.group(0)
                return whole[: start - whole_start] + marker + whole[end - whole_start :]
            return marker

        text = pattern.sub(_sub, text)
    return text, count


def _cut_utf8(text: str, max_bytes: int) -> str:
    data = text.encode("utf-8", "surrogatepass")
    if len(data) <= max_bytes:
        return text
    return data[:max_bytes].decode("utf-8", "ignore")


def _shrink(value: Any, budget: int) -> Any:
    """Shorten a parsed JSON value so its serialisation fits roughly in `budget` bytes."""
    if isinstance(value, str):
        if len(value.encode("utf-8", "surrogatepass")) <= budget:
            return value
        return _cut_utf8(value, max(budget - len(TRUNCATION_MARK) * 3, 16)) + TRUNCATION_MARK
    if isinstance(value, list):
        out: list[Any] = []
        used = 2
        for i, item in enumerate(value):
            share = max((budget - used) // max(len(value) - i, 1), 64)
            small = _shrink(item, share)
            size = len(json.dumps(small, ensure_ascii=False)) + 1
            if used + size > budget:
                out.append(f"…[{len(value) - i} more items truncated]")
                break
            out.append(small)
            used += size
        return out
    if isinstance(value, dict):
        result: dict[str, Any] = {}
        used = 2
        items = list(value.items())
        for i, (key, item) in enumerate(items):
            share = max((budget - used) // max(len(items) - i, 1), 64)
            small = _shrink(item, share)
            size = len(json.dumps({key: small}, ensure_ascii=False))
            if used + size > budget:
                result["…"] = f"[{len(items) - i} more keys truncated]"
                break
            result[key] = small
            used += size
        return result
    return value


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
                out = json.dumps(_shrink(parsed, budget), ensure_ascii=False)
                if len(out.encode("utf-8", "surrogatepass")) <= max_bytes:
                    return out, True
                budget = budget * 2 // 3
            return json.dumps(TRUNCATION_MARK), True
    cut = _cut_utf8(text, max(max_bytes - len(TRUNCATION_MARK.encode()), 0))
    return cut + TRUNCATION_MARK, True


def _clean_value(value: Any, max_bytes: int) -> tuple[Any, int, bool]:
    if isinstance(value, str):
        # Cap before scanning (bounded work on a 50 MB output), then cap again because a
        # replacement marker can be longer than the secret it replaced.
        capped, cut = cap_text(value, max_bytes * 2 if max_bytes else 0)
        text, count = redact_text(capped)
        text, cut2 = cap_text(text, max_bytes)
        return text, count, cut or cut2
    if isinstance(value, (list, tuple)) and value and isinstance(value[0], str):
        items = []
        total = 0
        cut_any = False
        for item in value:
            clean, count, cut = _clean_value(item, max_bytes)
            items.append(clean)
            total += count
            cut_any = cut_any or cut
        return tuple(items), total, cut_any
    return value, 0, False


def clean_attributes(
    attributes: Mapping[str, Any], max_bytes: int
) -> tuple[dict[str, Any], int, list[str]]:
    """Redact and cap every string attribute; returns (attributes, secrets, cut keys)."""
    out: dict[str, Any] = {}
    secrets = 0
    cut_keys: list[str] = []
    for key, value in attributes.items():
        clean, count, cut = _clean_value(value, max_bytes)
        out[key] = clean
        secrets += count
        if cut:
            cut_keys.append(key)
    return out, secrets, cut_keys


def redact_span(span: SpanData, max_bytes: int) -> SpanData:
    """The transform applied to every span before it is spooled."""
    attributes, secrets, cut_keys = clean_attributes(span.attributes, max_bytes)
    if secrets:
        attributes[semconv.STASO_REDACTED] = secrets + int(
            attributes.get(semconv.STASO_REDACTED, 0)
        )
    if cut_keys:
        attributes[semconv.STASO_TRUNCATED] = tuple(sorted(cut_keys))
    events = []
    for event in span.events:
        ev_attrs, _, _ = clean_attributes(event.attributes, max_bytes)
        events.append(SpanEvent(event.name, event.time_ns, ev_attrs))
    description = span.status_description
    if description:
        description, _, _ = _clean_value(description, min(max_bytes, 4096) or 4096)
    return replace(
        span, attributes=attributes, events=tuple(events), status_description=description
    )
