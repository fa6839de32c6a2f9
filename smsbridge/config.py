"""Configuration: exactly the variables of the contract, from the environment or `.env`.

An invalid value stops the program with a message naming the variable, never echoing a secret.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property

from pydantic import AnyHttpUrl, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

SECRET_FIELDS = {"webhook_secret", "bitrix24_client_secret", "smsru_api_id"}
SANDBOX_ENV_FILE = ".sandbox.env"


class ConfigError(Exception):
    """A configuration value is missing or invalid; the text names the variable."""


class Settings(BaseSettings):
    # `.sandbox.env` exists only while `smsbridge run` runs a sandbox: it carries the emulators'
    # keys and URLs to commands run beside it (it fills in only what .env leaves unset).
    model_config = SettingsConfigDict(
        env_file=(".env", SANDBOX_ENV_FILE), extra="ignore", case_sensitive=False
    )

    database_url: str = "sqlite:///./smsbridge.db"
    public_url: AnyHttpUrl = AnyHttpUrl("http://127.0.0.1:8000")
    webhook_secret: SecretStr | None = None
    bitrix24_client_id: str | None = None
    bitrix24_client_secret: SecretStr | None = None
    bitrix24_oauth_url: AnyHttpUrl = AnyHttpUrl("https://oauth.bitrix.info")
    smsru_api_id: SecretStr | None = None
    smsru_api_url: AnyHttpUrl = AnyHttpUrl("https://sms.ru")
    smsru_sender: str | None = None
    smsru_test: bool = False

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        try:
            url = make_url(value)
        except ArgumentError as exc:
            raise ValueError("not a SQLAlchemy URL, e.g. sqlite:///./smsbridge.db") from exc
        if url.get_backend_name() not in ("sqlite", "postgresql"):
            raise ValueError("only sqlite and postgresql databases are supported")
        return value

    @field_validator(
        "webhook_secret",
        "bitrix24_client_id",
        "bitrix24_client_secret",
        "smsru_api_id",
        "smsru_sender",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("webhook_secret")
    @classmethod
    def _secret_length(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 16:
            raise ValueError("must be at least 16 characters")
        return value

    def replace(self, **changes: object) -> Settings:
        """A copy with `changes` validated like the environment's values (unlike model_copy)."""
        return type(self).model_validate({**self.model_dump(), **changes})

    @cached_property
    def database(self) -> URL:
        return make_url(self.database_url)

    @property
    def public_base(self) -> str:
        return str(self.public_url).rstrip("/")

    def secrets(self) -> list[str]:
        """Every secret value configured, for log masking."""
        values = (self.webhook_secret, self.bitrix24_client_secret, self.smsru_api_id)
        return [value.get_secret_value() for value in values if value is not None]

    @property
    def smsru_key(self) -> str | None:
        return self.smsru_api_id.get_secret_value() if self.smsru_api_id else None

    @property
    def smsru_base(self) -> str:
        return str(self.smsru_api_url).rstrip("/")


def without_contract(environ: Mapping[str, str]) -> dict[str, str]:
    """`environ` without the contract's variables: for a child process whose every setting the
    caller decides (a test, a benchmark), not the developer's shell."""
    contract = {name.upper() for name in Settings.model_fields}
    return {key: value for key, value in environ.items() if key.upper() not in contract}


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment (and `.env`), or a ConfigError naming what is wrong."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else "?"
            problems.append(f"{field.upper()}: {error['msg']}")
        raise ConfigError("invalid configuration: " + "; ".join(problems)) from None
