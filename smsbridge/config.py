"""Configuration: exactly the variables of the contract, from the environment or `.env`.

An invalid value stops the program with a message naming the variable, never echoing a secret.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from urllib.parse import urlsplit

from pydantic import AnyHttpUrl, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

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
    # The trusted authorization servers, comma-separated: a portal's `server_endpoint` must be
    # `<one of them>/rest/` (Russian portals use oauth.bitrix24.tech, the others oauth.bitrix.info).
    bitrix24_oauth_url: str = "https://oauth.bitrix.info,https://oauth.bitrix24.tech"
    # The BX24 JS library the app's page loads (the sandbox serves its own shim).
    bitrix24_js_url: str = "https://api.bitrix24.com/api/v1/"
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

    @field_validator("bitrix24_oauth_url", mode="before")
    @classmethod
    def _oauth_servers(cls, value: object) -> str:
        servers = [item.strip().rstrip("/") for item in str(value).split(",") if item.strip()]
        if not servers:
            raise ValueError("name at least one authorization server")
        for server in servers:
            parts = urlsplit(server)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(f"{server[:80]!r} is not an http(s) URL")
            if "@" in parts.netloc or parts.query or parts.fragment:
                raise ValueError(f"{server[:80]!r} must be a plain URL (no user, query or #)")
        return ",".join(servers)

    @field_validator("bitrix24_js_url")
    @classmethod
    def _js_url(cls, value: str) -> str:
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname or "@" in parts.netloc:
            raise ValueError("must be a plain http(s) URL of the BX24 library")
        return value.strip()

    @field_validator("*", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object, info: ValidationInfo) -> object:
        """An empty optional variable (`SMSRU_SENDER=`) is an unset one."""
        optional = info.field_name is not None and cls.model_fields[info.field_name].default is None
        return None if optional and isinstance(value, str) and not value.strip() else value

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
        values = (getattr(self, name) for name in type(self).model_fields)
        return [value.get_secret_value() for value in values if isinstance(value, SecretStr)]

    def environment(self) -> dict[str, str]:
        """Every variable of the contract as the environment would carry these settings (an unset
        one empty): a child process given them runs with exactly this configuration."""
        fields = type(self).model_fields  # not iter(self): it also yields cached properties
        return {name.upper(): _as_variable(getattr(self, name)) for name in fields}

    @property
    def oauth_servers(self) -> list[str]:
        """The trusted authorization servers, without a trailing slash."""
        return self.bitrix24_oauth_url.split(",")

    def trusted_oauth_server(self, server_endpoint: str) -> str | None:
        """The trusted server whose REST endpoint `server_endpoint` is, or None."""
        given = server_endpoint.strip()
        return next((s for s in self.oauth_servers if given == f"{s}/rest/"), None)

    @property
    def smsru_key(self) -> str | None:
        return self.smsru_api_id.get_secret_value() if self.smsru_api_id else None

    @property
    def smsru_base(self) -> str:
        return str(self.smsru_api_url).rstrip("/")


def _as_variable(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, AnyHttpUrl):
        return str(value).rstrip("/")
    return str(value)


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
