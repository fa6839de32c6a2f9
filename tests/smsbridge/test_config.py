import pytest

from smsbridge.config import ConfigError, Settings, load_settings


def test_defaults_match_the_contract(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DATABASE_URL", "PUBLIC_URL", "WEBHOOK_SECRET", "SMSRU_API_ID", "SMSRU_TEST"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings(_env_file=None)
    assert settings.database_url == "sqlite:///./smsbridge.db"
    assert settings.public_base == "http://127.0.0.1:8000"
    assert settings.oauth_servers == ["https://oauth.bitrix.info", "https://oauth.bitrix24.tech"]
    assert settings.smsru_base == "https://sms.ru"
    assert settings.webhook_secret is None
    assert settings.smsru_key is None
    assert settings.smsru_test is False


def test_trusted_authorization_servers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BITRIX24_OAUTH_URL", " https://a.example/ , http://127.0.0.1:9/auth")
    settings = load_settings(_env_file=None)
    assert settings.oauth_servers == ["https://a.example", "http://127.0.0.1:9/auth"]
    assert settings.trusted_oauth_server("http://127.0.0.1:9/auth/rest/") == (
        "http://127.0.0.1:9/auth"
    )
    for forged in ("https://a.example.evil/rest/", "https://a.example/rest/x", "https://a.example"):
        assert settings.trusted_oauth_server(forged) is None
    for bad in ("ftp://a.example", "https://user@a.example", "https://a.example/?x=1", " , "):
        monkeypatch.setenv("BITRIX24_OAUTH_URL", bad)
        with pytest.raises(ConfigError, match="BITRIX24_OAUTH_URL"):
            load_settings(_env_file=None)


def test_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMSRU_API_ID", "key-from-env-123")
    monkeypatch.setenv("SMSRU_TEST", "1")
    monkeypatch.setenv("PUBLIC_URL", "https://bridge.example.com/")
    settings = load_settings(_env_file=None)
    assert settings.smsru_key == "key-from-env-123"
    assert settings.smsru_test is True
    assert settings.public_base == "https://bridge.example.com"


def test_reads_a_dotenv_file(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SMSRU_SENDER", raising=False)
    env = tmp_path / ".env"
    env.write_text("SMSRU_SENDER=MyShop\n")
    assert load_settings(_env_file=env).smsru_sender == "MyShop"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("PUBLIC_URL", "not a url"),
        ("DATABASE_URL", "mysql://x@y/z"),
        ("DATABASE_URL", "::::"),
        ("SMSRU_TEST", "maybe"),
        ("WEBHOOK_SECRET", "short"),
    ],
)
def test_invalid_values_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as caught:
        load_settings(_env_file=None)
    assert variable in str(caught.value)


def test_errors_never_echo_a_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEBHOOK_SECRET", "tiny!")
    with pytest.raises(ConfigError) as caught:
        load_settings(_env_file=None)
    assert "tiny!" not in str(caught.value)


def test_the_environment_carries_every_setting_to_a_child(monkeypatch: pytest.MonkeyPatch) -> None:
    """What `make run` hands the flow processes: read back, it is the same configuration."""
    settings = load_settings(
        _env_file=None,
        database_url="postgresql://u@db.example.com/sms",
        public_url="https://bridge.example.com/",
        webhook_secret="w" * 20,
        bitrix24_client_id="app.123",
        bitrix24_client_secret="client-secret-1",
        bitrix24_oauth_url="https://oauth.example.com",
        smsru_api_id="key-1234567",
        smsru_api_url="https://smsru.example.com/",
        smsru_sender="MyShop",
        smsru_test=True,
    )
    environment = settings.environment()
    assert set(environment) == {name.upper() for name in Settings.model_fields}
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert load_settings(_env_file=None) == settings


def test_unset_settings_travel_as_empty_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load_settings(_env_file=None, smsru_api_id=None, smsru_sender=None)
    environment = settings.environment()
    assert (environment["SMSRU_API_ID"], environment["SMSRU_SENDER"]) == ("", "")
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert load_settings(_env_file=None) == settings


@pytest.mark.parametrize("variable", ["SMSRU_SENDER", "SMSRU_API_ID", "BITRIX24_CLIENT_ID"])
def test_a_blank_optional_variable_is_unset(monkeypatch: pytest.MonkeyPatch, variable: str) -> None:
    monkeypatch.setenv(variable, "  ")
    assert getattr(load_settings(_env_file=None), variable.lower()) is None


def test_a_blank_required_variable_is_still_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", " ")
    with pytest.raises(ConfigError, match="DATABASE_URL"):
        load_settings(_env_file=None)


def test_secrets_are_every_secret_setting() -> None:
    settings = load_settings(
        _env_file=None,
        webhook_secret="w" * 20,
        bitrix24_client_secret="client-secret-1",
        smsru_api_id="key-1234567",
    )
    assert sorted(settings.secrets()) == sorted(["w" * 20, "client-secret-1", "key-1234567"])
    assert (
        load_settings(
            _env_file=None, webhook_secret=None, bitrix24_client_secret=None, smsru_api_id=None
        ).secrets()
        == []
    )


def test_the_bx24_library_url_must_be_a_plain_url() -> None:
    assert load_settings(_env_file=None).bitrix24_js_url == "https://api.bitrix24.com/api/v1/"
    sandbox = load_settings(_env_file=None, bitrix24_js_url="http://127.0.0.1:8002/bx24.js")
    assert sandbox.bitrix24_js_url == "http://127.0.0.1:8002/bx24.js"
    for bad in ("javascript:alert(1)", "https://user@evil.example/", "api.bitrix24.com"):
        with pytest.raises(ConfigError, match="BITRIX24_JS_URL"):
            load_settings(_env_file=None, bitrix24_js_url=bad)
