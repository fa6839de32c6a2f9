import pytest

from smsbridge.config import ConfigError, load_settings


def test_defaults_match_the_contract(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DATABASE_URL", "PUBLIC_URL", "WEBHOOK_SECRET", "SMSRU_API_ID", "SMSRU_TEST"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings(_env_file=None)
    assert settings.database_url == "sqlite:///./smsbridge.db"
    assert settings.public_base == "http://127.0.0.1:8000"
    assert str(settings.bitrix24_oauth_url).rstrip("/") == "https://oauth.bitrix.info"
    assert settings.smsru_base == "https://sms.ru"
    assert settings.webhook_secret is None
    assert settings.smsru_key is None
    assert settings.smsru_test is False


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
