"""Settings: precedence flag > STASO_* > OTEL_* > profile > default, and clear errors."""

from __future__ import annotations

import json

import pytest

from staso_otel import paths, settings


def test_defaults_point_at_staso_and_need_a_key():
    s = settings.load()
    assert s.endpoint == settings.STASO_ENDPOINT and s.is_staso_endpoint
    with pytest.raises(settings.SettingsError, match="no API key for the Staso endpoint"):
        s.require_key()


def test_precedence_flag_then_staso_then_profile_then_otel_for_the_endpoint():
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://otel:4318"}
    assert settings.load(env=env).endpoint == "http://otel:4318/v1/traces"  # no profile: SDK's
    settings.save_profile("default", {"endpoint": "http://profile:4318"})
    assert settings.load(env={}).endpoint == "http://profile:4318/v1/traces"
    # the exception: an ambient OTEL_* endpoint does not redirect what setup stored ...
    assert settings.load(env=env).endpoint == "http://profile:4318/v1/traces"
    # ... unless the user opts in
    opted = settings.load(env={**env, "STASO_USE_OTEL_ENDPOINT": "true"})
    assert opted.endpoint == "http://otel:4318/v1/traces"
    assert opted.source["endpoint"] == "OTEL_EXPORTER_OTLP_ENDPOINT"
    env["STASO_ENDPOINT"] = "http://staso:4318/v1/traces"
    assert settings.load(env=env).endpoint == "http://staso:4318/v1/traces"
    flagged = settings.load(overrides={"endpoint": "http://flag:1234"}, env=env)
    assert flagged.endpoint == "http://flag:1234/v1/traces"
    assert flagged.source["endpoint"] == "flag"


def test_traces_endpoint_is_used_as_given_and_empty_env_is_unset():
    env = {
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318/custom",
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://ignored:1",
        "STASO_ENDPOINT": "",
    }
    assert settings.load(env=env).endpoint == "http://c:4318/custom"


@pytest.mark.parametrize("bad", ["localhost:4318", "ftp://x", "http://", "http://h:99999"])
def test_malformed_endpoint_names_the_setting(bad):
    with pytest.raises(settings.SettingsError, match="bad value for endpoint from flag"):
        settings.load(overrides={"endpoint": bad})


def test_unknown_profile_says_how_to_create_it():
    settings.save_profile("work", {"workspace": "acme"})
    with pytest.raises(settings.SettingsError, match=r"unknown profile 'home'.*known: work"):
        settings.load("home")
    assert settings.load("work").workspace == "acme"


def test_key_lives_in_a_0600_credentials_file_not_in_settings():
    settings.save_profile("default", {"workspace": "w"}, api_key="sk-secret-123")
    assert "sk-secret" not in paths.settings_file().read_text()
    assert paths.credentials_file().stat().st_mode & 0o777 == 0o600
    s = settings.load()
    assert s.api_key == "sk-secret-123"
    assert s.export_headers()["X-API-Key"] == "sk-secret-123"
    assert settings.load(env={"STASO_API_KEY": "env-wins"}).api_key == "env-wins"


def test_headers_and_resource_attributes_from_otel_env():
    env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://otel:4318",
        "OTEL_EXPORTER_OTLP_HEADERS": "a=1,b=x%3Dy",
        "OTEL_RESOURCE_ATTRIBUTES": "team=ml",
        "OTEL_SERVICE_NAME": "svc",
    }
    s = settings.load(env=env)
    assert s.export_headers() == {"a": "1", "b": "x=y"}
    assert s.resource_attributes == {"team": "ml"} and s.service_name == "svc"
    # a bad OTEL_* value is ignored with a note, as the SDK does (it may be set for another
    # application); a bad STASO_* value is staso's own and stays an error
    s = settings.load(env={"OTEL_EXPORTER_OTLP_HEADERS": "novalue", "OTEL_SERVICE_NAME": "svc"})
    assert s.export_headers() == {} and s.service_name == "svc"
    assert any("OTEL_EXPORTER_OTLP_HEADERS='novalue' ignored" in n for n in s.notes)
    with pytest.raises(settings.SettingsError, match="headers"):
        settings.load(env={"STASO_HEADERS": "novalue"})


def test_bad_boolean_and_corrupt_settings_file():
    with pytest.raises(settings.SettingsError, match="capture_content"):
        settings.load(env={"STASO_CAPTURE_CONTENT": "maybe"})
    paths.ensure_dir(paths.staso_home())
    paths.settings_file().write_text("{broken")
    with pytest.raises(settings.SettingsError, match="cannot read"):
        settings.load()


def test_profile_rejects_unknown_settings_and_secrets():
    with pytest.raises(settings.SettingsError, match="unknown setting"):
        settings.save_profile("p", {"api_key": "x"})
    settings.save_profile("p", {"workspace": "w"}, make_default=False)
    assert json.loads(paths.settings_file().read_text())["profiles"]["p"] == {"workspace": "w"}
