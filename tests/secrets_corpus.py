"""A corpus of realistic secrets, the shapes they arrive in, and look-alikes that must survive.

Each `Secret` is one credential as it appears in real work: `line` is the line a user or
tool prints (an `.env` line, a header, a connection URL, a command), `secret` the part that
must never leave the machine. Values are fake but shaped like the real ones (prefixes,
lengths, alphabets), generated from a fixed seed so a run is repeatable.

`FORMATS` place a line the way content really arrives in hook payloads and transcripts:
on the second line of a multi-line output, tab-indented, quoted, inside a JSON document
that is itself a string, URL-encoded in a query string, base64 inside a Basic header.
`needles()` says what must not arrive for a placed secret, in the encodings it can take
on the way (raw, JSON-escaped, URL-encoded, base64), window by window so a partial leak
(a pattern stopping early) is caught too.
"""

from __future__ import annotations

import base64
import json
import random
import string
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote

_RNG = random.Random(20261201)
ALNUM = string.ascii_letters + string.digits
B64 = ALNUM + "+/"
HEX = "0123456789abcdef"


def _r(n: int, alphabet: str = ALNUM) -> str:
    return "".join(_RNG.choice(alphabet) for _ in range(n))


def _pem(label: str, lines: int = 4) -> tuple[str, str]:
    body = "\n".join(_r(64, B64) for _ in range(lines)) + "\n" + _r(24, B64) + "=="
    return f"-----BEGIN {label}-----\n{body}\n-----END {label}-----", body


def _basic(user: str, password: str) -> str:
    return base64.b64encode(f"{user}:{password}".encode()).decode()


def _jwt(claims: dict, sig_len: int) -> str:
    def part(obj: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(claims)}.{_r(sig_len, ALNUM + '-_')}"


@dataclass(frozen=True)
class Secret:
    kind: str
    line: str  # how it appears in a file, a command or an output
    secret: str  # what must not arrive (a substring of line, or its encoded form)
    multiline: bool = False


def _corpus() -> list[Secret]:
    out: list[Secret] = []

    def add(kind: str, line: str, secret: str, multiline: bool = False) -> None:
        assert secret in line or multiline, (kind, line)
        out.append(Secret(kind, line, secret, multiline))

    # Model providers.
    for kind, value in (
        ("openai_project", "sk-proj-" + _r(74, ALNUM + "-_") + "T3BlbkFJ" + _r(74, ALNUM + "-_")),
        ("openai_legacy", "sk-" + _r(20) + "T3BlbkFJ" + _r(20)),
        ("openai_service_account", "sk-svcacct-" + _r(64, ALNUM + "-_")),
        ("openai_admin", "sk-admin-" + _r(64, ALNUM + "-_")),
        ("openrouter", "sk-or-v1-" + _r(64, HEX)),
        ("anthropic_api", "sk-ant-api03-" + _r(93, ALNUM + "-_") + "AA"),
        ("anthropic_admin", "sk-ant-admin01-" + _r(93, ALNUM + "-_") + "AA"),
        ("groq", "gsk_" + _r(52)),
        ("xai", "xai-" + _r(80)),
        ("replicate", "r8_" + _r(37)),
        ("perplexity", "pplx-" + _r(48)),
        ("huggingface", "hf_" + _r(34)),
    ):
        add(kind, f"export {kind.upper()}_KEY={value}", value)
    add("openai_env", "OPENAI_API_KEY=" + (v := "sk-proj-" + _r(48)), v)
    add("anthropic_json", '{"apiKey": "' + (v := "sk-ant-api03-" + _r(95)) + '"}', v)

    # Clouds.
    add(
        "aws_access_key_id",
        "aws_access_key_id = " + (v := "AKIA" + _r(16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")),
        v,
    )
    add(
        "aws_sts_key_id",
        "AWS_ACCESS_KEY_ID=" + (v := "ASIA" + _r(16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")),
        v,
    )
    add("aws_secret_key_ini", "aws_secret_access_key = " + (v := _r(40, B64)), v)
    add("aws_secret_key_env", "AWS_SECRET_ACCESS_KEY=" + (v := _r(40, B64)), v)
    add("aws_session_token", "AWS_SESSION_TOKEN=" + (v := "IQoJb3JpZ2luX2Vj" + _r(300, B64)), v)
    add(
        "gcp_api_key",
        "https://maps.googleapis.com/maps/api/geocode/json?key="
        + (v := "AIza" + _r(35, ALNUM + "-_")),
        v,
    )
    add("google_oauth_token", "Authorization: Bearer " + (v := "ya29." + _r(150, ALNUM + "-_")), v)
    add(
        "google_client_secret",
        '"client_secret": "' + (v := "GOCSPX-" + _r(28, ALNUM + "-_")) + '"',
        v,
    )
    add(
        "azure_storage",
        "DefaultEndpointsProtocol=https;AccountName=acme;AccountKey="
        + (v := _r(86, B64) + "==")
        + ";EndpointSuffix=core.windows.net",
        v,
    )
    add(
        "azure_sas",
        "https://acme.blob.core.windows.net/c/f.txt?sv=2024-08-04&se=2026-12-02&sp=r&sig="
        + (v := _r(43, B64) + "%3D"),
        v,
    )
    add("digitalocean", "DIGITALOCEAN_ACCESS_TOKEN=" + (v := "dop_v1_" + _r(64, HEX)), v)
    add("databricks", "DATABRICKS_TOKEN=" + (v := "dapi" + _r(32, HEX)), v)

    # Code hosts and package registries.
    for prefix in ("ghp_", "gho_", "ghu_", "ghs_", "ghr_"):
        add(
            f"github_{prefix[:3]}",
            f"git clone https://x-access-token:{(v := prefix + _r(36))}@github.com/acme/app.git",
            v,
        )
    add(
        "github_fine_grained",
        "GITHUB_TOKEN="
        + (v := "github_pat_11" + _r(20, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") + "_" + _r(59)),
        v,
    )
    add("github_token_header", "Authorization: token " + (v := "ghp_" + _r(36)), v)
    add("gitlab_pat", "PRIVATE-TOKEN: " + (v := "glpat-" + _r(20, ALNUM + "-_")), v)
    add("gitlab_deploy", "gldt-" + _r(20, ALNUM + "-_"), "")
    add("gitlab_runner", "runner token " + (v := "glrt-" + _r(20, ALNUM + "-_")), v)
    add(
        "gitlab_trigger",
        "curl -X POST -F token="
        + (v := "glptt-" + _r(40, HEX))
        + " https://gitlab.example.com/api/v4/projects/1/trigger/pipeline",
        v,
    )
    add("npm_token", "//registry.npmjs.org/:_authToken=" + (v := "npm_" + _r(36)), v)
    add("pypi_token", "password = " + (v := "pypi-AgEIcHlwaS5vcmc" + _r(60, ALNUM + "-_")), v)

    # Chat, payments, mail.
    add(
        "slack_bot",
        "SLACK_BOT_TOKEN="
        + (v := "xoxb-" + _r(12, string.digits) + "-" + _r(13, string.digits) + "-" + _r(24)),
        v,
    )
    add(
        "slack_user",
        "token: "
        + (
            v := "xoxp-"
            + _r(12, string.digits)
            + "-"
            + _r(12, string.digits)
            + "-"
            + _r(13, string.digits)
            + "-"
            + _r(32, HEX)
        ),
        v,
    )
    add(
        "slack_app",
        "SLACK_APP_TOKEN="
        + (
            v := "xapp-1-A"
            + _r(10, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
            + "-"
            + _r(13, string.digits)
            + "-"
            + _r(64, HEX)
        ),
        v,
    )
    add(
        "slack_webhook",
        "https://hooks.slack.com/services/T"
        + _r(10, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        + "/B"
        + _r(10, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        + "/"
        + (v := _r(24)),
        v,
    )
    add("stripe_live", "stripe.api_key = '" + (v := "sk_live_" + _r(99)) + "'", v)
    add("stripe_test", "STRIPE_SECRET_KEY=" + (v := "sk_test_" + _r(99)), v)
    add("stripe_restricted", "rk_live_" + _r(99), "")
    add("stripe_webhook", "STRIPE_WEBHOOK_SECRET=" + (v := "whsec_" + _r(32)), v)
    add(
        "sendgrid",
        "SENDGRID_API_KEY=" + (v := "SG." + _r(22, ALNUM + "-_") + "." + _r(43, ALNUM + "-_")),
        v,
    )
    add("shopify", "X-Shopify-Access-Token: " + (v := "shpat_" + _r(32, HEX)), v)
    add("twilio_auth", "TWILIO_AUTH_TOKEN=" + (v := _r(32, HEX)), v)
    add("mailgun", "MAILGUN_API_KEY=" + (v := "key-" + _r(32, HEX)), v)
    add("datadog", "DD_API_KEY=" + (v := _r(32, HEX)), v)
    add("sentry_auth", "SENTRY_AUTH_TOKEN=" + (v := "sntrys_" + _r(60)), v)

    # Tokens in headers and cookies.
    add(
        "jwt_bearer",
        "Authorization: Bearer " + (v := _jwt({"sub": "1234567890", "iat": 1764547200}, 86)),
        v,
    )
    add(
        "jwt_cookie",
        "Cookie: session=" + (v := _jwt({"uid": 42, "role": "admin"}, 43)) + "; Path=/",
        v,
    )
    add("jwt_env", "JWT_SECRET=" + (v := _r(48)), v)
    add(
        "bearer_opaque",
        "curl -H 'Authorization: Bearer "
        + (v := _r(40, ALNUM + "._-"))
        + "' https://api.example.com/v1/me",
        v,
    )
    add("x_api_key", "x-api-key: " + (v := _r(40, HEX)), v)

    # Basic auth and passwords.
    add(
        "basic_header", "Authorization: Basic " + (v := _basic("deploy", "Tr0ub4dor&3-" + _r(8))), v
    )
    add(
        "basic_curl_header",
        'curl -H "Authorization: Basic '
        + (v := _basic("admin", _r(16)))
        + '" https://ci.example.com/api/json',
        v,
    )
    add(
        "basic_python",
        "headers = {'Authorization': 'Basic " + (v := _basic("svc", _r(20))) + "'}",
        v,
    )
    add(
        "curl_u",
        "curl -u admin:"
        + (v := "Pa55w0rd-" + _r(10))
        + " https://registry.example.com/v2/_catalog",
        v,
    )
    add(
        "curl_user_quoted",
        "curl --user 'ci-bot:"
        + (v := "s3cr3t!" + _r(9))
        + "' -X POST https://jenkins.example.com/job/x/build",
        v,
    )
    add("curl_u_token_only", "curl -u :" + (v := _r(32)) + " https://api.example.com", v)
    add(
        "url_postgres",
        "DATABASE_URL=postgres://app:" + (v := "pg-" + _r(18)) + "@db.internal:5432/app",
        v,
    )
    add("url_mysql", "mysql://root:" + (v := "my-" + _r(14)) + "@127.0.0.1:3306/shop", v)
    add(
        "url_mongodb",
        "mongodb+srv://admin:"
        + (v := "mg" + _r(16))
        + "@cluster0.abcde.mongodb.net/?retryWrites=true",
        v,
    )
    add(
        "url_redis_no_user",
        "REDIS_URL=redis://:" + (v := "rd" + _r(20)) + "@cache.internal:6379/0",
        v,
    )
    add(
        "url_https_user",
        "pip install --index-url https://__token__:"
        + (v := "tok" + _r(24))
        + "@pypi.example.com/simple pkg",
        v,
    )
    add("env_db_password", "DB_PASSWORD=" + (v := "x7!" + _r(13)), v)
    add("env_digits_password", "POSTGRES_PASSWORD=" + (v := _r(12, string.digits)), v)
    add(
        "env_secret_key",
        "SECRET_KEY=" + (v := "django-insecure-" + _r(40, ALNUM + "!@#%^&*(-_=+)")),
        v,
    )
    add("env_session_secret", "SESSION_SECRET=" + (v := _r(32, HEX)), v)
    add("env_quoted_token", 'AUTH_TOKEN="' + (v := _r(40, ALNUM + "-_.")) + '"', v)
    add("env_api_key", "MAPBOX_API_KEY=" + (v := "pk." + _r(60)), v)
    add("yaml_password", "  password: " + (v := "Yaml-" + _r(14)), v)
    add("json_password", '{"username": "svc", "password": "' + (v := "Js0n-" + _r(14)) + '"}', v)
    add(
        "wget_password",
        "wget --http-user=bob --http-password="
        + (v := "Wg" + _r(14))
        + " https://files.example.com/a.tgz",
        v,
    )

    # Unquoted lower-case values, as people write them in YAML, INI, .env, prose and
    # commands (a snake_case word is a variable in code but the value in a config file).
    def word() -> str:
        return _r(5, string.ascii_lowercase) + "_" + _r(7, string.ascii_lowercase)

    add("yaml_password_word", "password: " + (v := word()), v)
    add("ini_password_word", "password=" + (v := word()), v)
    add("ini_spaced_password", "password = " + (v := word() + "_" + _r(3, string.digits)), v)
    add("yaml_passwd_word", "  passwd: " + (v := word()), v)
    add("yaml_secret_word", "secret: " + (v := word()), v)
    add("ini_api_key_word", "api_key = " + (v := word()), v)
    add("yaml_token_word", "token: " + (v := word()), v)
    add("yaml_nested_password", "database:\n  user: app\n  password: " + (v := word()), v)
    add("env_pgpassword", "PGPASSWORD=" + (v := word()) + " psql -h db.internal -U app", v)
    add("cli_password_flag", "psql --username app --password " + (v := word()) + " -d shop", v)
    add("cli_password_flag_eq", "mc alias set s3 --password=" + (v := word()), v)
    add("cli_token_flag", "gh-deploy --token " + (v := _r(24)) + " --env prod", v)
    add("cli_api_key_flag", "llm --api-key '" + (v := word()) + "' 'hello'", v)
    add("cli_client_secret_flag", "az login --client-secret " + (v := _r(32, ALNUM + "~.")), v)
    add("cli_mysql_p", "mysql -u root -p" + (v := word()) + " shop < dump.sql", v)
    add("prose_password", "The staging password: " + (v := word()) + " (rotate it monthly)", v)

    # Shapes where the name is one field and the secret another, or the word is not
    # followed by `:`/`=`: environment entries, headers of any length, XML elements,
    # values on the next line, netrc, `login -p`.
    add("k8s_env_entry", "env:\n- name: DB_PASSWORD\n  value: " + (v := _r(12)), v)
    add("k8s_env_quoted", '    - name: STRIPE_API_KEY\n      value: "' + (v := _r(12)) + '"', v)
    add("ecs_env_json", '{"name": "DB_PASSWORD", "value": "' + (v := _r(12)) + '"}', v)
    add("dotnet_add_key", '<add key="ClearTextPassword" value="' + (v := _r(12)) + '" />', v)
    add("auth_bearer_short", "Authorization: Bearer " + (v := _r(12)), v)
    add("auth_token_short", "curl -H 'Authorization: token " + (v := _r(12)) + "' https://x", v)
    add("auth_json_short", '{"headers": {"authorization": "' + (v := _r(12)) + '"}}', v)
    add("xml_password", "<server><id>nexus</id><password>" + (v := _r(12)) + "</password>", v)
    add("xml_api_key", "<apiKey>" + (v := _r(12)) + "</apiKey>", v)
    add("passphrase_yaml", "passphrase: " + (v := _r(12)), v)
    add("passphrase_env", "GPG_PASSPHRASE=" + (v := _r(12)), v)
    add("passphrase_flag", "gpg --batch --passphrase " + (v := _r(12)) + " -d s.gpg", v)
    add("yaml_next_line", "password:\n  " + (v := _r(12)), v)
    add("yaml_block_scalar", "client_secret: |\n  " + (v := _r(12)), v)
    add("npmrc_auth", "//registry.npmjs.org/:_auth=" + (v := _basic("me", _r(12))), v)
    add("netrc_line", "machine api.example.com login me password " + (v := _r(12)), v)
    add("netrc_lines", "machine h.example.com\n  login me\n  password " + (v := _r(12)), v)
    add("docker_login_p", "docker login -u ci -p " + (v := _r(12)) + " reg.example.com", v)

    # Private keys.
    for label in (
        "RSA PRIVATE KEY",
        "EC PRIVATE KEY",
        "OPENSSH PRIVATE KEY",
        "PRIVATE KEY",
        "ENCRYPTED PRIVATE KEY",
    ):
        pem, body = _pem(label)
        add("pem_" + label.split()[0].lower(), pem, body, multiline=True)
    pem, body = _pem("PGP PRIVATE KEY BLOCK")
    add("pem_pgp", pem, body, multiline=True)
    pem, body = _pem("PRIVATE KEY", lines=6)
    add(
        "gcp_service_account_json",
        json.dumps(
            {"type": "service_account", "private_key_id": _r(40, HEX), "private_key": pem + "\n"}
        ),
        body,
        multiline=True,
    )
    pem, body = _pem("RSA PRIVATE KEY")
    add("k8s_secret_base64_pem", "  tls.key: " + (v := base64.b64encode(pem.encode()).decode()), v)
    # Entries added without a `secret` are their own secret.
    return [Secret(s.kind, s.line, s.secret or s.line, s.multiline) for s in out]


SECRETS: list[Secret] = _corpus()


def _json_in_text(line: str) -> str:
    return "config written: " + json.dumps({"env": {"value": line, "ok": True}})


# (name, place) — `place(line)` is the text a payload field carries.
FORMATS: tuple[tuple[str, Callable[[str], str]], ...] = (
    ("second_line", lambda line: f"$ ./deploy.sh\nloading settings\n{line}\ndone"),
    ("tab_indented", lambda line: f"config:\n\t{line}\n\tretries: 3"),
    ("single_quoted", lambda line: f"echo '{line}' >> .env"),
    ("double_quoted", lambda line: f'printf "%s\\n" "{line}"'),
    ("json_in_string", _json_in_text),
    ("url_encoded", lambda line: "GET /oauth/callback?state=" + quote(line, safe="") + " HTTP/1.1"),
    (
        "basic_header",
        lambda line: "Authorization: Basic " + base64.b64encode(f"u:{line}".encode()).decode(),
    ),
)

# A line as the value of a secret-named key (a tool's arguments, a YAML block): here what
# the rules must see through is the key around the line, not the transport, so the
# redaction tests take these on top of FORMATS. (The end-to-end test's blocks stay within
# the 128 KiB one string keeps in session state.)
KEYED_FORMATS: tuple[tuple[str, Callable[[str], str]], ...] = (
    ("under_secret_key", lambda line: json.dumps({"password": line, "n": 3})),
    ("yaml_token_value", lambda line: f"auth:\n  token: {line}\n  retries: 3"),
)


def needles(secret: Secret, fmt: str) -> list[str]:
    """Strings whose presence in what arrives means `secret`, placed with `fmt`, leaked."""
    if fmt == "basic_header":
        # the whole header value is the secret; its middle is what a partial match leaves
        encoded = base64.b64encode(f"u:{secret.line}".encode()).decode()
        return _windows(encoded[8:])
    values = [secret.secret]
    if fmt == "url_encoded":
        values.append(quote(secret.secret, safe=""))
    escaped = []
    for value in values:
        once = json.dumps(value)[1:-1]
        escaped += [once, json.dumps(once)[1:-1]]
    found: list[str] = []
    for value in [*values, *escaped]:
        for piece in value.replace("\\n", "\n").split("\n") if secret.multiline else [value]:
            found += _windows(piece)
    return sorted(set(found))


def _windows(value: str, size: int = 16, step: int = 8) -> list[str]:
    if len(value) <= size:
        return [value] if len(value) >= 6 else []
    return [value[i : i + size] for i in range(0, len(value) - size + 1, step)] + [value[-size:]]


# Ordinary content that resembles a secret and must arrive unchanged.
LOOKALIKES: tuple[str, ...] = (
    "pip install scikit-learn  # imported as sklearn; see the sk-learn docs",
    "the task-notification arrived; disk-usage-report-2026-11-30-final.txt is ready",
    "commit e83c5163316f89bfbde7d9ab23ca2e25604af290 (HEAD -> main)",
    "request id 123e4567-e89b-12d3-a456-426614174000 finished",
    '{"input_tokens": 100000, "output_tokens": 123456, "cache_read_input_tokens": 0}',
    "max_tokens = 4096\ntemperature = 0.2",
    "the token count was high, so we summarised the conversation",
    "https://example.com/path?q=1&page=2",
    "git@github.com:acme/app.git and ssh://git@github.com/acme/app.git",
    "http://localhost:8080/v1/traces",
    "Basic usage: run `staso setup` and then `staso status`.",
    "PASSWORD_MIN_LENGTH=12\nTOKEN_TTL_SECONDS=3600",
    "-----BEGIN CERTIFICATE-----\n"
    "MIIDdzCCAl+gAwIBAgIEAgAAuTANBgkqhkiG9w0BAQUFADBaMQswCQYDVQQGEwJJ\n"
    "-----END CERTIFICATE-----",
    "-----BEGIN PUBLIC KEY-----\n"
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEexampleexampleexample\n"
    "-----END PUBLIC KEY-----",
    "docker run -u 1000:1000 -v $PWD:/w image:latest",
    "git push -u origin feature/redaction",
    "def get_token(self) -> str:\n\treturn self._token",
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAC"
    "hwGA60e6kgAAAABJRU5ErkJggg==",
    "ls -la\ntotal 48\ndrwxr-xr-x  5 dev dev 4096 Dec  1 19:00 .\n"
    "\t-rw-r--r-- 1 dev dev  220 .bashrc",
    "GITHUB_TOKEN=${{ secrets.GITHUB_TOKEN }}",
    "export PATH=$HOME/.local/bin:$PATH",
    'api_key = os.environ["OPENAI_API_KEY"]\ntoken = self._token\nself.api_key = api_key',
    "const token = req.headers.authorization;\ninterface Login { password: string; }",
    "def login(password: str, api_key=api_key, token: Optional[str] = None):",
    "secret_key = settings.SECRET_KEY; password = getpass.getpass()",
    "FAILED tests/test_secrets_e2e.py::test_token_refresh - AssertionError",
    "set `token = self._token` and `api_key=` in the config",
    "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    # references and masks stand where a secret would: the shape of a config survives
    "password: ${DB_PASSWORD}\npassword=$PGPASSWORD\ntoken: $(cat /run/secrets/token)",
    "api_key: <your-api-key>\nsecret: {{ .Values.secret }}\npassword: '********'",
    "connect(host, user=user_name, password=password_input)\nf(api_key=api_key)",
    'creds = {"password": password_value, "token": auth_token}',
    "use the --password flag, or --token instead; psql --password prompts for it",
    "docker login --password-stdin < pw.txt\nmysql -u root -p shop\nmkdir -p build_dir",
    "ssh -p 2222 deploy@host && pg_dump --no-password shop_db",
    "usage: staso setup --endpoint URL --api-key KEY (or `--api-key K`, to use a key there)",
    # a header's credential of any length is redacted, but not what docs and code put there
    'curl -H "Authorization: Bearer <token>" https://api.example.com/v1/me',
    "Authorization: Bearer $TOKEN\nAuthorization: token ${{ secrets.GITHUB_TOKEN }}",
    "send the Authorization: Bearer header; Authorization: token works too",
    "Authorization: Bearer YOUR_API_KEY\nAuthorization: Bearer your-token",
    'headers = {"Authorization": f"Bearer {token}"}\nheaders["Authorization"] = auth_header',
    'Authorization: Digest username="bob", realm="x", nonce="dcd98b7102dd2f0e"',
    # a secret-named entry whose value comes from elsewhere, or is not a secret
    "env:\n- name: DB_PASSWORD\n  valueFrom:\n    secretKeyRef:\n      name: db-credentials\n"
    "      key: password",
    '{"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}',
    '- name: PASSWORD_MIN_LENGTH\n  value: "12"\n- name: TOKEN_TTL\n  value: "3600"',
    '{"name": "API_TOKEN", "value": ""}, {"name": "API_TOKEN", "value": "$(API_TOKEN)"}',
    "<password></password>\n<password>${env.PW}</password>\n<password>{{ pw }}</password>",
    '<input type="password"> and <passwordPolicy>strict</passwordPolicy>',
    "the passphrase is required; pass --passphrase-file or set passphrase_file",
    # a key ending its line whose next line is code, a key or a list, not a value
    "if token:\n    return None\nif not password:\n    raise ValueError(password)",
    "def login(user, password=None):\n    ...",
    'if reason == "max_output_tokens":\n        return FINISH_LENGTH',
    "password:\n  description: The database password\n  required: true",
    "inputs:\n  token:\n    description: 'A GitHub token'\n    required: false",
    "scopes:\n  token:\n    - read\n    - write",
    "_auth=${NPM_AUTH}",
    "netrc(5): machine name, login name, password string",
    "machine api.example.com login me password $NETRC_PASSWORD",
    "docker login -u me --password-stdin reg.example.com\ncf login -a api.example.com -p $CF_PW",
)
