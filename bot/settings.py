"""Settings from the environment and a ``.env`` file (names in DESIGN.md section 5)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.storage.database import DEFAULT_POOL_SIZE, DatabaseLimits
from bot.turn import DEFAULT_MAX_PAIRS_PER_PERSON

DEFAULT_DATABASE_URL = "sqlite:///mentorbot.db"
LOG_FORMATS = ("text", "json")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class Settings(BaseSettings):
    # A variable set to nothing (``SLACK_APP_TOKEN=``, as .env.example leaves each token)
    # is unset: its default, not an empty token that would turn a platform or Socket
    # Mode on. Only blanks are left to the validator below.
    model_config = SettingsConfigDict(
        env_file=".env", extra="ignore", case_sensitive=False, env_ignore_empty=True
    )

    database_url: str = DEFAULT_DATABASE_URL
    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    discord_bot_token: SecretStr | None = None
    discord_guild_id: str | None = None
    discord_api_url: str = "https://discord.com/api/v10"
    discord_gateway_url: str = "wss://gateway.discord.gg/"
    port: int = Field(default=3000, ge=1, le=65535)
    # /healthz and /metrics: the interface they listen on, and their own port (unset:
    # PORT, shared with Slack's /slack/events in HTTP mode).
    ops_host: str = "0.0.0.0"
    ops_port: int | None = Field(default=None, ge=1, le=65535)
    # When set, /metrics answers only requests with "Authorization: Bearer <token>".
    metrics_token: SecretStr | None = None
    dispatch_interval_seconds: float = Field(default=30.0, gt=0)
    dispatch_spread_seconds: float = Field(default=120.0, ge=0)
    slack_messages_per_second: float = Field(default=1.0, gt=0)
    discord_messages_per_second: float = Field(default=40.0, gt=0)
    # Time limits of database work (DatabaseLimits): opening a PostgreSQL connection, one
    # statement, waiting for a pooled connection, and one whole unit of work. A database
    # that stops answering then means "not saved, try again" within seconds.
    db_connect_timeout_seconds: float = Field(default=3.0, gt=0)
    db_statement_timeout_seconds: float = Field(default=10.0, gt=0)
    db_pool_timeout_seconds: float = Field(default=10.0, gt=0)
    db_transaction_timeout_seconds: float = Field(default=15.0, gt=0)
    # PostgreSQL connections one process keeps open (requests beyond them queue for one).
    db_pool_size: int = Field(default=DEFAULT_POOL_SIZE, ge=1, le=1000)
    log_level: str = "INFO"
    log_format: str = "text"
    admin_user_ids: Annotated[frozenset[str], NoDecode] = frozenset()
    # The most pairs (proposed, active or paused) one person may be in.
    max_pairs_per_person: int = Field(default=DEFAULT_MAX_PAIRS_PER_PERSON, ge=1, le=1000)
    # Comma-separated Fernet keys: the first encrypts free text, all decrypt (rotation).
    data_encryption_key: SecretStr | None = None

    def database_limits(self) -> DatabaseLimits:
        return DatabaseLimits(
            connect_seconds=self.db_connect_timeout_seconds,
            statement_seconds=self.db_statement_timeout_seconds,
            checkout_seconds=self.db_pool_timeout_seconds,
            transaction_seconds=self.db_transaction_timeout_seconds,
        )

    @field_validator("admin_user_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            return frozenset(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator(
        "slack_bot_token",
        "slack_signing_secret",
        "slack_app_token",
        "discord_bot_token",
        "discord_guild_id",
        "ops_port",
        "metrics_token",
        "data_encryption_key",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("discord_guild_id")
    @classmethod
    def _server_id(cls, value: str | None) -> str | None:
        """A Discord server id is a snowflake: a 64-bit number, up to 20 digits. Anything
        else is refused here, rather than read as "no server" when the commands sync."""
        if value is None:
            return None
        chosen = value.strip()
        digits = chosen.isascii() and chosen.isdigit()
        if not (digits and len(chosen) <= 20 and int(chosen) < 2**64):
            raise ValueError(
                "must be a server id: the number Copy Server ID gives (Developer Mode "
                f"on), not {value[:40]!r}"
            )
        return chosen

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        """A level the logs know (``WARN`` read as ``WARNING``), in capitals; an unknown
        one is refused, rather than read as INFO without a word."""
        chosen = value.strip().upper()
        chosen = "WARNING" if chosen == "WARN" else chosen
        if chosen not in LOG_LEVELS:
            raise ValueError(
                f"must be {', '.join(LOG_LEVELS[:-1])} or {LOG_LEVELS[-1]}, not {value!r}"
            )
        return chosen

    @field_validator("log_format")
    @classmethod
    def _known_format(cls, value: str) -> str:
        chosen = value.strip().lower()
        if chosen not in LOG_FORMATS:
            raise ValueError(f"must be text or json, not {value!r}")
        return chosen
