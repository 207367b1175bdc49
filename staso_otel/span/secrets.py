r"""Secret detection: find and replace credentials in text as it is exported. [stdlib]

Most exported content is JSON: a key after `\n` or `\t` (a multi-line tool output
serialised into `gen_ai.tool.call.result`), a value inside an escaped quote
(`\"password\": \"...\"`), a URL-encoded query string and a base64 Basic header all
count. A replacement never takes a backslash or a quote, so JSON stays JSON.

How it stays fast (benchmarks/bench_redact.py): the text is scanned as UTF-8 bytes, so
lower-casing and searching stay ASCII-fast whatever the text holds.
- Tokens with a known prefix (`sk-`, `ghp_`, `AKIA`, `eyJ`...) are at least 20 characters
  from a small alphabet: one `translate` marks that alphabet, a substring search finds
  the runs of 20 or more, and only their starts (also just after an escape such as `\n`
  or `%3D`) are looked up by their first two bytes.
- Everything identified by a word (`password=`, `Bearer `, `curl -u`, `://user:pw@`) is
  found by a regex that starts with that word over the lower-cased bytes (a literal
  prefix, so a C-speed scan); the rules are matched in place at each hit.
The kinds covered are listed in docs/RELIABILITY.md.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, cached_property, lru_cache
from typing import Any
from urllib.parse import quote, unquote_to_bytes

_WORD = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
_HEX = frozenset(b"0123456789abcdefABCDEF")
_BACKSLASH = 0x5C
_PERCENT = 0x25


def _starts_word(data: bytes, i: int) -> bool:
    r"""True when a token starts at `i`: after a non-word byte, or after an escape that
    ends in a letter or digit (`\n`, `\t`, `\u00a0`, `%3D`), which `\b` would miss."""
    if i == 0 or data[i - 1] not in _WORD:
        return True
    if i >= 2 and data[i - 2] == _BACKSLASH and data[i - 1] in b"nrtbfv":
        return True
    if i >= 3 and data[i - 3] == _PERCENT and data[i - 2] in _HEX and data[i - 1] in _HEX:
        return True
    return (
        i >= 6
        and data[i - 6] == _BACKSLASH
        and data[i - 5] == 0x75  # u
        and all(c in _HEX for c in data[i - 4 : i])
    )


def _b64(value: bytes) -> bytes | None:
    value = value.replace(b"\\", b"")  # `\/` escapes
    try:
        return base64.b64decode(value + b"=" * (-len(value) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None


def _is_basic_credential(value: bytes) -> bool:
    """`Basic <base64>` carries `user:password`; an ordinary word after "Basic" does not
    decode to printable text with a colon."""
    raw = _b64(value)
    if raw is None or b":" not in raw:
        return False
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return all(c.isprintable() or c in "\r\n\t" for c in text)


def _is_encoded_private_key(value: bytes) -> bool:
    value = value.replace(b"\\", b"").rstrip(b"=")
    raw = _b64(value[: len(value) - len(value) % 4])  # whole 3-byte groups only
    return raw is not None and b"PRIVATE KEY" in raw


# `token = self._token`, `api_key=api_key,`, `password: string;`, `getpass.getpass()`:
# in code, an unquoted right-hand side is an expression, not the secret.
_CODE = re.compile(rb"[A-Za-z_$][A-Za-z0-9_$]*(?:\.[A-Za-z_$][A-Za-z0-9_$]*)*(?:[(\[].*)?", re.S)
_TYPE_NAMES = frozenset(
    b"string str bytes int float number bool boolean none null undefined any object".split()
)
_NAME = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")


def _is_code(data: bytes, start: int, end: int) -> bool:
    if start and data[start - 1] in b"\"'":
        return False  # a quoted literal is a value, whatever it looks like
    value = data[start:end]
    # `f(api_key=api_key)`: the call's brackets; `def f(password=None):` a signature
    closed = value.rstrip(b":").rstrip(b")]}")
    if not _CODE.fullmatch(closed) or any(c in b"0123456789" for c in closed):
        return False
    if any(c in b".([" for c in closed) or closed.lower() in _TYPE_NAMES:
        return True  # `self._token`, `getpass.getpass()`, `str`
    if b"_" not in closed:
        return False
    # A snake_case name is a variable in code and a word in a config file or a command
    # (`password: my_secret_word`): code when it is an argument (`api_key=api_key,`,
    # `f(token=auth_token)`), names what the key names (`self.api_key = api_key`), or
    # follows a quoted key as no JSON or YAML value would (`{"password": pw_input}`).
    if len(closed) < len(value) or data[end : end + 1] == b",":
        return True
    sep = start
    while sep > 0 and data[sep - 1] in b" \t":
        sep -= 1
    sep -= 1  # the `:` or `=`
    key_end = sep
    while key_end > 0 and data[key_end - 1] in b" \t":
        key_end -= 1
    if key_end > 0 and data[key_end - 1] in b"\"'" and data[sep : sep + 1] == b":":
        return True
    key_start = key_end
    while key_start > 0 and data[key_start - 1] in _NAME:
        key_start -= 1
    key = data[key_start:key_end].lower()
    return key == closed.lower() or key.endswith(b"." + closed.lower())


# A reference or a mask stands where the secret would: `$PASSWORD`, `${DB_PASS}`,
# `$(cat pw.txt)`, `${{ secrets.X }}`, `<your-token>`, `{password}`, `{{ .Values.pw }}`,
# `%(password)s`, `********`, `xxxxxxxx`. Kept, so a config's shape survives.
_PLACEHOLDER = re.compile(rb"\$[{(A-Za-z_].*|<.*>|\{.*|%\(.*|(.)\1*", re.S)


def _is_value(value: bytes) -> bool:
    """Not a placeholder (above): what a secret-named key holds is the secret."""
    return _PLACEHOLDER.fullmatch(value.replace(b"\\", b"")) is None


@dataclass(frozen=True)
class Rule:
    """One way to recognise a secret. `source` is matched where the rule is looked for;
    the secret is its group named "secret", or the whole match."""

    kind: str
    source: bytes
    on_lower: bool = False  # matched against the lower-cased bytes (case-insensitive)
    word_start: bool = False  # must start a token (escape-aware)
    check: Callable[[bytes], bool] | None = None  # a last test of the secret itself
    literal_only: bool = False  # skip an unquoted value that reads as code (`= self._token`)
    before: Callable[[bytes, int], bool] | None = None  # a test of what precedes the hit
    # tried only where the gate's match ends in one of these bytes (see _ASSIGN); None: always
    after: bytes | None = None

    # Compiled when first looked for, not at import: a worker the Stop hook starts pays
    # for the few rules its texts reach instead of all of them (the compile was most of
    # this module's import, on the path to the turn's first span).
    @cached_property
    def pattern(self) -> re.Pattern[bytes]:
        return re.compile(self.source, re.S)

    @cached_property
    def group(self) -> str | int:
        return "secret" if "secret" in self.pattern.groupindex else 0

    def find(self, data: bytes, low: bytes, i: int) -> tuple[int, int] | None:
        match = self.pattern.match(low if self.on_lower else data, i)
        if match is None or (self.word_start and not _starts_word(data, i)):
            return None
        if self.before is not None and not self.before(data, i):
            return None
        span = match.span(self.group)
        if data[span[0]] in _NEVER_FIRST:
            return None
        if self.check is not None and not self.check(data[span[0] : span[1]]):
            return None
        if self.literal_only and _is_code(data, *span):
            return None
        return span


# What a found secret may not start with: JSON's closing brackets, its comma and colon.
# After a quote they are the JSON around a text, not a value: a text ending in
# `--password=`, `TOKEN=` or `Authorization:` took the `"}]}]` closing its messages array
# as the password, and the redacted array no longer parsed. The price: a password that
# itself starts with one of them is left (none of the corpus's does).
_NEVER_FIRST = frozenset(b"}],:")


def _rule(kind: str, pattern: bytes, **kw: Any) -> Rule:
    return Rule(kind, pattern, **kw)


# A value: not whitespace, a quote or a backslash, so a replacement stops before `\n` or
# `\"` instead of taking half an escape.
_VALUE = rb"""(?:[^\s"'\\]|\\+/)"""  # `\/` is JSON's escaped slash: kept whole
_QUOTE = rb"""(?:\\*["'])?"""  # an optional quote, itself maybe escaped once or twice
_NOT_PLACEHOLDER = rb"(?![$<{\[])"  # $VAR, <your-key>, ${{ secrets.X }}, [REDACTED:...]

# -- tokens known by their prefix: looked up at the start of long runs --------------------
# (kind, pattern, first two bytes it can start with)
_TOKEN_TABLE: tuple[tuple[str, bytes, tuple[bytes, ...]], ...] = (
    ("aws_access_key", rb"(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Za-z0-9])", (b"AK", b"AS")),
    ("gcp_api_key", rb"AIza[0-9A-Za-z_\-]{35}", (b"AI",)),
    ("google_oauth", rb"ya29\.[A-Za-z0-9_\-]{20,}", (b"ya",)),
    ("google_client_secret", rb"GOCSPX-[A-Za-z0-9_\-]{24,}", (b"GO",)),
    ("anthropic_key", rb"sk-ant-[A-Za-z0-9_\-]{20,}", (b"sk",)),
    ("openai_key", rb"sk-[A-Za-z0-9_\-]{20,}", (b"sk",)),
    ("stripe_key", rb"[sr]k_(?:live|test)_[A-Za-z0-9]{16,}", (b"sk", b"rk")),
    ("stripe_webhook_secret", rb"whsec_(?:[A-Za-z0-9+=]|\\*/){24,}", (b"wh",)),
    ("github_token", rb"gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,}", (b"gh", b"gi")),
    (
        "gitlab_token",
        rb"gl(?:pat|dt|rt|ptt|ft|soat|cbt|imt|oas|agent|ffct|wt)-[A-Za-z0-9_\-]{20,}",
        (b"gl",),
    ),
    (
        "slack_token",
        rb"xox[abposre]-[A-Za-z0-9\-]{10,}|xapp-[0-9]-[A-Za-z0-9\-]{10,}",
        (b"xo", b"xa"),
    ),
    ("npm_token", rb"npm_[A-Za-z0-9]{36}(?![A-Za-z0-9])", (b"np",)),
    ("pypi_token", rb"pypi-AgE[A-Za-z0-9_\-]{50,}", (b"py",)),
    ("huggingface_token", rb"hf_[A-Za-z0-9]{30,}", (b"hf",)),
    ("groq_key", rb"gsk_[A-Za-z0-9]{40,}", (b"gs",)),
    ("xai_key", rb"xai-[A-Za-z0-9]{50,}", (b"xa",)),
    ("replicate_token", rb"r8_[A-Za-z0-9]{30,}", (b"r8",)),
    ("perplexity_key", rb"pplx-[A-Za-z0-9]{40,}", (b"pp",)),
    ("sendgrid_key", rb"SG\.[A-Za-z0-9_\-]{16,}\.[A-Za-z0-9_\-]{16,}", (b"SG",)),
    ("shopify_token", rb"shp(?:at|ss|ca|pa)_[a-fA-F0-9]{32}", (b"sh",)),
    ("digitalocean_token", rb"do[por]_v1_[a-f0-9]{64}", (b"do",)),
    ("databricks_token", rb"dapi[a-f0-9]{32}(?:-[0-9]+)?(?![A-Za-z0-9])", (b"da",)),
    ("sentry_token", rb"sntry[su]_(?:[A-Za-z0-9+=_\-]|\\*/){40,}", (b"sn",)),
    ("mailgun_key", rb"key-[0-9a-f]{32}(?![0-9a-f])", (b"ke",)),
    ("jwt", rb"eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}", (b"ey",)),
)
_BY_PREFIX: dict[bytes, list[Rule]] = {}
for _kind, _pattern, _leads in _TOKEN_TABLE:
    for _lead in _leads:
        _BY_PREFIX.setdefault(_lead, []).append(_rule(_kind, _pattern))
# a PEM key base64-encoded once more (Kubernetes secrets, CI variables)
_BY_PREFIX[b"LS"] = [
    _rule(
        "private_key",
        rb"LS0tLS1CRUdJTi(?:[A-Za-z0-9+]|\\*/){20,}={0,2}",
        check=_is_encoded_private_key,
    )
]
_RUN_BYTES = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.+/"
_RUN_TABLE = bytes(0x61 if c in _RUN_BYTES else 0x20 for c in range(256))
_RUN_MIN = b"a" * 20  # the shortest prefixed token (AKIA + 16) is 20 bytes
_LEADING = frozenset(b"./+")

# -- secrets known by a word next to them: looked up where the word is ------------------
_ENV_VALUE = _QUOTE + rb"(?P<secret>" + _NOT_PLACEHOLDER + _VALUE + rb"{4,})"
_GENERIC_VALUE = (
    rb"[a-z0-9_.\-]*"
    + _QUOTE
    + rb"\s*[:=][ \t]*"  # on the same line (a value on the next: _next_line)
    + _QUOTE
    # not `::test_x` (a pytest node id) nor markdown's `code`: neither starts a secret
    + rb"""(?P<secret>(?![:=]|\[redacted)(?=[^\s"',;`\\]*[a-z])(?:[^\s"',;`\\]|\\+/){6,})"""
)

_PROSE_WORD = re.compile(rb"[a-z]{1,9}|[A-Z_]+|.{0,2}", re.S)


def _is_flag_value(value: bytes) -> bool:
    """After a flag's name, prose and help texts put a short word or a metavariable (`the
    --token option`, `--password prompts for it`, `--api-key KEY`): up to nine lower-case
    letters, capitals only, or under three characters (trailing punctuation aside) are kept;
    anything with a digit, mixed case, a symbol, or longer counts."""
    word = value.rstrip(b"`,;.:)")
    return _is_value(word) and _PROSE_WORD.fullmatch(word) is None


_FLAG_NAMES = rb"(?:passw(?:or)?d|passphrase|secret(?:-?key)?|token|api-?key|access-key)"


def _flag() -> Rule:
    """`-password` (the end of `--password`, `--db-password`) and the value after it."""
    pattern = rb"(?<!no)-" + _FLAG_NAMES + rb"(?:\s+|=)" + _QUOTE
    pattern += rb"(?P<secret>(?!-)" + _VALUE + rb"{3,})"
    return _rule("cli_secret", pattern, on_lower=True, check=_is_flag_value)


def _assignment(word: bytes) -> Rule:
    """`<word...>: value`, `<word...>=value`, `"<word...>": "value"`, any case."""
    pattern = word + _GENERIC_VALUE
    return _rule(
        "secret_assignment", pattern, on_lower=True, literal_only=True, check=_is_value, after=b":="
    )


def _starts_line(data: bytes, i: int) -> bool:
    r"""True when the key around `i` (`password` in `  db_password:`) is the first thing on
    its line (after indentation or YAML's `- `, also after an escaped `\n`) or is quoted
    (a quoted key, or the start of a string): a YAML or INI key, not `if token:` in code."""
    end = i
    while end < len(data) and data[end] in _NAME:
        end += 1
    while i > 0 and data[i - 1] in _NAME:
        if i >= 2 and data[i - 2] == _BACKSLASH and data[i - 1] in b"nrt":
            break  # `\npassword`: the `n` ends an escape, not the key
        i -= 1
    if i > 0 and data[i - 1] in b"\"'":
        if data[end : end + 1] not in (b'"', b"'", b"\\"):
            return True  # a string that starts with the key: `"password:\n  ..."`
        i -= 1  # a quoted key, `"password":`: where its quote stands counts
        while i > 0 and data[i - 1] == _BACKSLASH:
            i -= 1
    while i > 0:
        if data[i - 1] in b" \t-":
            i -= 1
        elif i >= 2 and data[i - 2] == _BACKSLASH and data[i - 1] == 0x74:  # `\t`
            i -= 2
            while i > 0 and data[i - 1] == _BACKSLASH:  # escaped twice, `\\t`
                i -= 1
        else:
            break
    if i > 0 and data[i - 1] in b":=" and data[i - 2 : i] not in (b"==", b"!="):
        return True  # the key is itself a value (`token: password:`): see _names_a_key
    if i == 0 or data[i - 1] in b"\r\n":
        return True
    return i >= 2 and data[i - 2] == _BACKSLASH and data[i - 1] in b"nr"


def _is_block_value(value: bytes) -> bool:
    """The line under `password:` is its value unless it is a key (`  description: ...`,
    a nested mapping) or a reference."""
    return not value.endswith(b":") and _is_value(value)


# after a key's `:`, the end of its line (also YAML's block scalars `|`, `>-`, and JSON's `\n`)
_EOL = rb"[ \t]*(?:[|>][+-]?[ \t]*)?(?:\r?\n|(?:\\+r)?\\+n)"


def _next_line(word: bytes) -> Rule:
    """`password:` ending its line, the value indented on the next one (YAML, also after
    `|` or `>`): `password:\n  S3cret`, raw or JSON-escaped."""
    pattern = word + rb"[a-z0-9_.\-]*" + _QUOTE + rb"[ \t]*:" + _EOL + rb"(?:[ \t]|\\+t)+" + _QUOTE
    pattern += rb"(?P<secret>(?![-#][ \t])" + _VALUE + rb"{4,})"
    return _rule(
        "secret_assignment",
        pattern,
        on_lower=True,
        check=_is_block_value,
        before=_starts_line,
        after=b"\nn",
    )


def _element(word: bytes) -> Rule:
    """An XML element named for a secret: `<password>S3cret</password>` (Maven's
    settings.xml, NuGet, Ant), `<db.password>`, `<apiKey>`; its own closing tag ends it."""
    pattern = word + rb">(?P<secret>(?:[^<\s\\]|\\+/)+)<\\*/[a-z0-9_:.\-]*" + word + rb">"
    return _rule("secret_assignment", pattern, on_lower=True, check=_is_value, after=b">")


def _is_sibling_value(value: bytes) -> bool:
    return _is_value(value) and value.lower() not in (b"null", b"true", b"false", b"none")


_FIELD = re.compile(rb"(?:^|[^a-z0-9_])(?:name|key)\\*[\"']?[ \t]*[:=][ \t]*\\*[\"']?\Z")


def _is_named(data: bytes, i: int) -> bool:
    """The name around `i` (`password` in `DB_PASSWORD`) is the value of a `name` or `key`
    field: `name: DB_PASSWORD`, `"name": "DB_PASSWORD"`, `key="ClearTextPassword"`."""
    while i > 0 and data[i - 1] in _NAME:
        if i >= 2 and data[i - 2] == _BACKSLASH and data[i - 1] in b"nrt":
            break
        i -= 1
    return _FIELD.search(data[max(0, i - 24) : i].lower()) is not None


def _sibling(word: bytes) -> Rule:
    """A name/value pair whose name says it is a secret: Kubernetes and ECS environment
    entries (`- name: DB_PASSWORD\n  value: S3cret`, `{"name": "DB_PASSWORD", "value":
    "S3cret"}`), .NET's `<add key="ClearTextPassword" value="S3cret" />`."""
    pattern = word + _QUOTE + _SIBLING + _QUOTE + rb"[ \t]*[:=][ \t]*" + _QUOTE
    pattern += rb"(?P<secret>" + _VALUE + rb"+)"
    return _rule(
        "secret_assignment",
        pattern,
        on_lower=True,
        check=_is_sibling_value,
        before=_is_named,
        after=b"e",
    )


def _word_rules(word: bytes) -> tuple[Rule, ...]:
    """What a secret-named key can hold, wherever the key stands (the gate's alternative
    that matched says which rule to try: see _ASSIGN)."""
    return (_assignment(word), _next_line(word), _element(word), _sibling(word))


_LOWER_WORDS = re.compile(rb"[a-z][a-z_.\-]*|[A-Z][A-Z_\-]*|.{0,2}", re.S)


def _is_header_credential(value: bytes) -> bool:
    """After `Authorization:` the credential is the value whatever its length; what docs
    and code put there instead is a word or a name (`Bearer token`, `your-api-key`,
    `YOUR_TOKEN`, `auth_header`) or a reference (`<token>`, `$TOKEN`, `${{ secrets.X }}`)."""
    word = value.rstrip(b"`,;.:)")
    return _is_value(word) and _LOWER_WORDS.fullmatch(word) is None


_SCHEMES_KEPT = rb"(?:basic|digest|bearer|token|aws4-hmac-sha256|hoba|mutual|scram-sha-\d+|vapid)"
_AUTHORIZATION = (
    rb"authorization"
    + _QUOTE
    + rb"[ \t]*[:=][ \t]*"
    + _QUOTE
    # Basic is its own rule (the base64 must decode to user:password); the parameters of
    # Digest, AWS SigV4 and the like are signatures over one request, not the credential
    + rb"(?:(?:bearer|token|negotiate|ntlm)[ \t]+)?(?!"
    + _SCHEMES_KEPT
    + rb"(?![a-z0-9_.\-]))"
    + rb"(?P<secret>"
    + _VALUE
    + rb"+)"
)

_KEY_WORDS = rb"(?:(?<=api)|(?<=api_)|(?<=api-)|(?<=private)|(?<=private_)|(?<=private-)"
_KEY_WORDS += rb"|(?<=access)|(?<=access_)|(?<=access-)|(?<=auth)|(?<=auth_)|(?<=auth-))"
_URL_RULES = (
    _rule(  # scheme://user:password@host, the user possibly empty (redis://:pw@)
        "url_password", rb""":\\*/\\*/[^/\s:@'"\\]{0,256}:(?P<secret>[^/\s@'"\\]{1,256})@"""
    ),
    _rule(
        "slack_webhook",
        rb":\\*/\\*/hooks\.slack\.com\\*/(?:services|workflows|triggers)\\*/"
        rb"(?P<secret>(?:[A-Za-z0-9_\-]|\\*/){20,})",
    ),
)
_SPACE = rb"(?:\s|\\+[nrt])+"  # also JSON's escaped `\n`, `\t`
# after `login`: the user, maybe `account a` / `port 22`, then `password`
_NETRC = _SPACE + rb"[^\s\\]+(?:" + _SPACE + rb"(?:account|port)" + _SPACE + rb"[^\s\\]+){0,2}"
_NETRC += _SPACE + rb"password" + _SPACE
# What follows a secret's word where a rule can start: an assignment (`key=`, `key: `,
# `"key": `, also `key:` ending its line), an XML element (`key>`), or a name whose sibling
# field holds the value (`name: DB_PASSWORD\n  value: ...`). The match's last byte says
# which rules to try there (`Rule.after`): named groups would cost every hit a little.
_SIBLING = rb"(?:[\s,]|\\+[nrt]){1,40}" + _QUOTE + rb"value"
_ASSIGN = rb"[a-z0-9_.\-]*(?:\\*[\"']?\s*[:=](?:" + _EOL + rb")?|>|" + _QUOTE + _SIBLING + rb")"
# (gate: a quick regex over the lower-cased bytes that finds where a rule could match,
# rules matched in place there). The gate keeps Python out of the many harmless hits
# (`max_tokens`, `"key": 1`, `https://host/`).
_WORD_TABLE: tuple[tuple[bytes, tuple[Rule, ...]], ...] = (
    (
        rb"-----begin",
        (
            _rule(
                "private_key",
                rb"-----BEGIN[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----[^\"]*?"
                rb"(?:-----END[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----|(?=\\*\")|\Z)",
            ),
        ),
    ),
    (
        rb"""://(?:[^/\s:@'"\\]{0,256}:[^/\s@'"\\]{1,256}@|hooks\.slack\.com/)""",
        _URL_RULES,
    ),
    (  # the same after JSON's escaped slashes, `:\/\/`
        rb""":\\+/\\+/(?:[^/\s:@'"\\]{0,256}:[^/\s@'"\\]{1,256}@|hooks\.slack\.com\\+/)""",
        _URL_RULES,
    ),
    (
        rb"basic\s+[a-z0-9+/]{8}",
        (
            _rule(
                "basic_auth",
                rb"basic\s+(?P<secret>(?:[a-z0-9+]|\\*/){8,}={0,2})",
                on_lower=True,
                word_start=True,
                check=_is_basic_credential,
            ),
        ),
    ),
    (
        rb"bearer\s+[a-z0-9._~+/\-]{16}",
        (
            _rule(
                "bearer_token",
                rb"bearer\s+(?P<secret>(?:[a-z0-9._~+\-]|\\*/){16,}=*)",
                on_lower=True,
                word_start=True,
            ),
        ),
    ),
    (
        rb"token(?:\s+[a-z0-9._~+/\-]{16}|" + _ASSIGN + rb")",
        (
            _rule(
                "bearer_token",
                rb"token\s+(?P<secret>(?:[a-z0-9._~+\-]|\\*/){16,}=*)",
                on_lower=True,
                word_start=True,
            ),
            # .env / shell lines whose upper-case name says what they are: any value
            _rule("env_secret", rb"TOKEN=" + _ENV_VALUE, after=b":="),
            *_word_rules(rb"token"),
        ),
    ),
    (
        rb"pass(?:w|phrase)" + _ASSIGN,
        (
            _rule("env_secret", rb"PASS(?:W(?:OR)?D|PHRASE)=" + _ENV_VALUE, after=b":="),
            *_word_rules(rb"pass(?:w(?:or)?d|phrase)"),
        ),
    ),
    (
        rb"secret" + _ASSIGN,
        (
            _rule("env_secret", rb"SECRET(?:_KEY)?=" + _ENV_VALUE, after=b":="),
            *_word_rules(rb"secret(?:[_\-]?key)?"),
        ),
    ),
    (
        rb"key" + _ASSIGN,
        (
            _rule(
                "env_secret",
                rb"(?:(?<=API_)|(?<=API)|(?<=ACCESS_)|(?<=PRIVATE_)|(?<=AUTH_))KEY=" + _ENV_VALUE,
                after=b":=",
            ),
            _rule(
                "azure_key",
                rb"(?:(?<=account)|(?<=sharedaccess))key=(?P<secret>(?:[a-z0-9+%]|\\*/){20,}={0,2})",
                on_lower=True,
                after=b":=",
            ),
            *_word_rules(_KEY_WORDS + rb"key"),
        ),
    ),
    (
        rb"credential" + _ASSIGN,
        _word_rules(rb"credentials?"),
    ),
    (  # `Authorization:` and npm's legacy `_auth=<base64 of user:password>` in .npmrc
        rb"auth(?:orization" + _QUOTE + rb"[ \t]*[:=]|[ \t]*=)",
        (
            _rule(
                "bearer_token",
                _AUTHORIZATION,
                on_lower=True,
                literal_only=True,
                check=_is_header_credential,
            ),
            _rule("secret_assignment", rb"(?<=_)auth[ \t]*=[ \t]*" + _ENV_VALUE, on_lower=True),
        ),
    ),
    (  # `docker login -u me -p S3cret` (also podman, oc, cf: `-p` is the password there) and
        # ~/.netrc's `machine host login me password S3cret`, on one line or several
        rb"login\b(?:[^|;&\n\\]{0,200}?\s-p[ \t=]|" + _NETRC + rb")",
        (
            _rule(
                "cli_secret",
                rb"login\b[^|;&\n\\]{0,200}?\s-p(?:[ \t]+|=)"
                + _QUOTE
                + rb"(?P<secret>(?!-)"
                + _VALUE
                + rb"+)",
                on_lower=True,
                word_start=True,
                check=_is_flag_value,
            ),
            _rule(
                "netrc_password",
                rb"login" + _NETRC + _QUOTE + rb"(?P<secret>" + _VALUE + rb"+)",
                on_lower=True,
                word_start=True,
                check=_is_flag_value,
            ),
        ),
    ),
    # a command's flag and its value (`--password S3cret`, `--db-password=...`, `--client-secret
    # '...'`, `--api-key ...`, not `--no-password`): each its own literal, so only text with
    # such a flag pays for the rule
    (b"-" + _FLAG_NAMES + rb"(?:\s|=)", (_flag(),)),
    (  # MySQL's password glued to its flag: `mysql -u root -pS3cret db`
        rb"mysql",
        (
            _rule(
                "cli_secret",
                rb"mysql(?:dump|admin)?\b[^|;&\n]{0,200}?\s-p(?P<secret>" + _VALUE + rb"+)",
                word_start=True,
                check=_is_value,
            ),
        ),
    ),
    (
        rb"sig=[a-z0-9+/%]{20}",
        (_rule("azure_key", rb"sig=(?P<secret>(?:[a-z0-9+%]|\\*/){20,}={0,2})", on_lower=True),),
    ),
    (
        rb"curl\b",
        (
            _rule(
                "curl_password",
                rb"curl\b[^|;&\n]{0,200}?\s(?:-u|--user)(?:\s+|=)?"
                + _QUOTE
                + rb"""[^\s:"'\\]*:(?P<secret>"""
                + _VALUE
                + rb"+)",
                word_start=True,
            ),
        ),
    ),
)


def _literal(gate: bytes) -> bytes:
    """A literal every match of the gate holds (the one it starts with, or within its first
    bytes: see _word_spans): one cheap `in` test can skip its regex scan."""
    if gate.startswith(b":\\\\"):
        return b"\\/"  # `:\/\/`: `:\` is in every JSON document, `\/` is rare
    literal = re.match(rb"[a-z_\-=:/]+", gate)
    assert literal, gate
    return literal.group()


WORDS = tuple((_literal(gate), gate, rules) for gate, rules in _WORD_TABLE)


@cache
def _gate(source: bytes) -> re.Pattern[bytes]:
    return re.compile(source)  # on first use, as the rules (see Rule.pattern)


# Short text (most attributes: names, ids, a prompt) is first asked what a rule could find in
# it: a word rule's gate (one regex scan of all of them) or a `%` escape, and a run of 20
# token bytes (what `_token_spans` looks for, found as it finds it). Word rules look only at
# a gate's match and token rules only at a run, so each half of the scan runs only when its
# own trigger is there, and text with neither skips it. The gates, not just the words they
# start with: a shell command's `-q` or a test run's `passed` hold a word and no gate; and a
# path or an id is a run with no gate. On long text the full scan's `find`s, memchr-fast, beat
# the regex and it runs directly. The run is not part of the regex: a class repeated 20
# times is tried at every letter of the text, and took half of a short text's redaction.
_SUSPECT_BELOW = 256


@cache
def _gates() -> re.Pattern[bytes]:
    return re.compile(b"|".join(b"(?:" + gate + b")" for _, gate, _ in WORDS) + b"|%")


# Every gate's match holds one of these words, each found at its rarest letter: re tries a
# pattern only where its first byte could start it, and `k`, `w`, `q` or `=` start few places
# of a text where `t`, `p` or `s` start many. Only text that holds one is asked for the
# gates themselves (a third of a short text's scan went). A test holds every gate to them.
_HINTS = (
    rb"k(?:ey|(?<=tok)en)"
    rb"|c(?:(?<=sec)ret|redential|url)"
    rb"|b(?:asic|earer)"
    rb"|u(?<=au)th"
    rb"|w(?<=passw)|p(?<=passp)h"  # password, passphrase
    rb"|g(?<=log)in"
    rb"|q(?<=mysq)l"
    rb"|=(?<=sig=)"
    rb"|-----begin"
    rb"|:(?://|\\+/)"  # a URL's `://`, JSON-escaped too
    rb"|%"
)
_hint_search: Callable[[bytes], re.Match[bytes] | None] | None = None
_gate_search: Callable[[bytes], re.Match[bytes] | None] | None = None


def _suspect(low: bytes) -> tuple[bool, bool]:
    """Whether lower-cased `low` holds (a word rule's gate or a `%`, a 20-byte token run):
    what `_word_spans` and `_token_spans` could find anything at."""
    global _hint_search, _gate_search
    if _gate_search is None:  # bound once: this runs on every short text
        _hint_search = re.compile(_HINTS).search
        _gate_search = _gates().search
    words = _hint_search(low) is not None and _gate_search(low) is not None  # type: ignore[misc]
    # find, not `in`: bytes' `in` first tries its operand as an int, and the TypeError it
    # raises and clears cost more than the search on a short text
    return words, low.translate(_RUN_TABLE).find(_RUN_MIN) >= 0


# URL-encoded runs (a query string, an encoded redirect): decoded, redacted, re-encoded.
_RUN_RIGHT = re.compile(rb"(?:[A-Za-z0-9._~+\-]|%[0-9A-Fa-f]{2})*")
_ENCODED_CHARS = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._~+-")


def _token_spans(data: bytes, low: bytes) -> list[tuple[int, int, str]]:
    found: list[tuple[int, int, str]] = []
    runs = low.translate(_RUN_TABLE)
    find, lookup, size = runs.find, _BY_PREFIX.get, len(data)
    start = find(_RUN_MIN)
    while start != -1:
        end = find(b" ", start + 20)
        end = size if end == -1 else end
        before = data[start - 1] if start else 0
        if before == _BACKSLASH:  # `\nsk-...`: the token after an escape
            starts: tuple[int, ...] = (start, start + (5 if data[start] == 0x75 else 1))
        elif before == _PERCENT:  # `%3Dsk-...`
            starts = (start, start + 2)
        elif data[start] in _LEADING:  # `//ghp_...@github.com`, `\/sk-...`, `.ghp_...`
            lead = start
            while lead < end and data[lead] in _LEADING:
                lead += 1
            starts = (lead,)
        else:
            starts = (start,)
        for i in starts:
            for rule in lookup(data[i : i + 2], ()):
                span = rule.find(data, low, i)
                if span is not None:
                    found.append((*span, rule.kind))
                    break
        start = find(_RUN_MIN, end)
    return found


def _word_spans(data: bytes, low: bytes) -> list[tuple[int, int, str]]:
    found: list[tuple[int, int, str]] = []
    for literal, gate, rules in WORDS:
        first = low.find(literal)
        if first == -1:
            continue
        covered = 0  # hits inside a secret already found are not looked at again...
        # (a few bytes early: a literal inside the gate, `\/` in `:\/\/`, sits after its start)
        for hit in _gate(gate).finditer(low, max(0, first - 64)):
            if hit.start() < covered:
                continue
            last = low[hit.end() - 1]
            for rule in rules:
                if rule.after is not None and last not in rule.after:
                    continue
                span = rule.find(data, low, hit.start())
                if span is not None:
                    found.append((*span, rule.kind))
                    if not _names_a_key(data, *span):  # ...unless it holds one
                        covered = max(covered, span[1])
    return found


_KEY_NAME = re.compile(rb"[A-Za-z_][A-Za-z0-9_.\-]*[:=]")
_KEY_NEXT = re.compile(rb"[ \t]*[:=]")


def _names_a_key(data: bytes, start: int, end: int) -> bool:
    """A value that is itself a key: `password:` in `"password": "password: hunter2x"`,
    `AUTH_TOKEN=` in `token: AUTH_TOKEN="..."`, `password` in `secret=password = x`. It is
    redacted, but the assignment it starts holds the secret and must be looked at too."""
    if data[end - 1 : end] in (b":", b"="):
        return _KEY_NAME.fullmatch(data, start, end) is not None
    return _KEY_NEXT.match(data, end) is not None


def _replace(data: bytes, spans: list[tuple[int, int, str]]) -> tuple[bytes, int]:
    """Replace the spans; overlapping ones become one (the first rule's kind names it)."""
    spans.sort(key=lambda s: (s[0], -s[1]))
    pieces: list[bytes] = []
    last = count = 0
    cur: list[Any] | None = None
    for start, end, kind in spans:
        if cur is not None and start < cur[1]:
            cur[1] = max(cur[1], end)
            continue
        if cur is not None:
            pieces += (data[last : cur[0]], b"[REDACTED:" + cur[2].encode() + b"]")
            last, count = cur[1], count + 1
        cur = [start, end, kind]
    if cur is not None:
        pieces += (data[last : cur[0]], b"[REDACTED:" + cur[2].encode() + b"]")
        last, count = cur[1], count + 1
    pieces.append(data[last:])
    return b"".join(pieces), count


def _redact_bytes(
    data: bytes, low: bytes | None = None, words: bool = True, runs: bool = True
) -> tuple[bytes, int]:
    """`words` / `runs` False: the text was found to hold no gate / token run (_suspect)."""
    if low is None:
        low = data.lower()  # ASCII-only, so every offset is the same in `data` and `low`
    spans = _token_spans(data, low) if runs else []
    if words:
        spans += _word_spans(data, low)
    if not spans:
        return data, 0
    return _replace(data, spans)


def _redact_encoded(data: bytes) -> tuple[bytes, int]:
    """Secrets inside URL-encoded runs (`?state=KEY%3Dsk-...`), decoded to be seen."""
    pieces: list[bytes] = []
    last = count = 0
    i = data.find(b"%")
    while i != -1:
        if i + 2 < len(data) and data[i + 1] in _HEX and data[i + 2] in _HEX:
            start = i
            while start > last and data[start - 1] in _ENCODED_CHARS:
                start -= 1
            end = _RUN_RIGHT.match(data, i).end()  # type: ignore[union-attr]
            clean, found = _redact_bytes(unquote_to_bytes(data[start:end]))
            if found:
                pieces += (data[last:start], quote(clean, safe="[]:+").encode())
                last, count = end, count + found
            i = data.find(b"%", max(end, i + 1))
        else:
            i = data.find(b"%", i + 1)
    if not count:
        return data, 0
    pieces.append(data[last:])
    return b"".join(pieces), count


# Between a message's role or finish reason and its text stands the message's own JSON
# (`","parts":[{"type":"text","content":`, `}],"finish_reason":`). The only rules that read
# on through such bytes are `login`, `curl` and `mysql` (`[^|;&\n]{0,200}?` up to their
# flag), and they need a space before the flag; an escape or a quote in the word changes
# the JSON around it.
_READS_ON = ("login", "curl", "mysql", " ", "\\", '"')


@lru_cache(maxsize=256)  # roles and finish reasons: a few words, met on every message
def stays_apart(word: str) -> bool:
    """True when no secret can span `word` and a JSON string written beside it (a message's
    role or finish reason beside its text): scanning the two apart finds what scanning them
    together does."""
    low = word.lower()
    return low.isprintable() and not any(part in low for part in _READS_ON)


def redact_text(text: str) -> tuple[str, int]:
    """Replace every secret in `text`; returns (text, number replaced)."""
    if len(text) < 8:
        return text, 0
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: kept as they are
        data = text.encode("utf-8", "surrogatepass")
    if len(data) < _SUSPECT_BELOW:
        low = data.lower()
        words, runs = _suspect(low)
        if not words and not runs:
            return text, 0
        data, count = _redact_bytes(data, low, words, runs)
    else:
        data, count = _redact_bytes(data)
    if data.find(b"%") >= 0:  # find: see _suspect
        data, found = _redact_encoded(data)
        count += found
    if not count:
        return text, 0
    return data.decode("utf-8", "surrogatepass"), count
