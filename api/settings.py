"""The one settings class: environment variables and `.env`, read once per process."""

from __future__ import annotations

from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from api.identity.policies import SessionPolicy, ThrottlePolicy

# A key anyone can read in this file; accepted only while developing on one's own machine.
DEVELOPMENT_SECRET_KEY = "dev-insecure-secret-key-change-me"  # noqa: S105


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    secret_key: SecretStr = SecretStr(DEVELOPMENT_SECRET_KEY)

    # Where the parts live. Empty DATABASE_URL / TEMPORAL_ADDRESS mean "start the embedded ones".
    data_dir: Path = Path(".data")
    database_url: str = ""
    # Migrations run as the schema's owner; the application connects as a role that owns
    # nothing, so it cannot disable the audit trail's trigger. Empty: the same as DATABASE_URL.
    migration_database_url: str = ""
    temporal_address: str = ""
    temporal_namespace: str = "default"
    temporal_task_queue: str = "cloudmanager"

    web_host: str = "127.0.0.1"
    web_port: int = 8000
    # uvicorn worker processes behind the one port: one per CPU uses a host's every core for pages
    # (the web app keeps no state of its own between requests; sessions, throttles and presence
    # are in PostgreSQL).
    web_workers: int = Field(default=1, gt=0)
    temporal_port: int = 7233
    temporal_ui_port: int = 8233
    postgres_port: int = 5433
    public_base_url: str = ""

    # Outbound mail.
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtp_username: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_tls: Literal["none", "starttls", "tls"] = "none"
    smtp_timeout_seconds: float = 20.0
    mail_from: str = "CloudManager <support@cloudmanager.localhost>"
    mail_domain: str = "cloudmanager.localhost"

    # Uploads are kept outside the web root, under the data folder unless told otherwise.
    upload_dir: Path | None = None
    upload_max_bytes: int = Field(default=10 * 1024 * 1024, gt=0)
    upload_max_files: int = Field(default=10, gt=0)

    # Sign-in: session timeouts, brute-force limits (per account and per IP address), API tokens.
    session_idle_minutes: int = Field(default=30, gt=0)
    session_absolute_hours: int = Field(default=12, gt=0)
    auth_max_failures_per_account: int = Field(default=5, gt=0)
    auth_max_failures_per_ip: int = Field(default=30, gt=0)
    auth_failure_window_seconds: int = Field(default=15 * 60, gt=0)
    auth_lockout_seconds: int = Field(default=15 * 60, gt=0)
    access_token_minutes: int = Field(default=15, gt=0)
    refresh_token_days: int = Field(default=30, gt=0)

    default_locale: Literal["fr", "en"] = "fr"
    time_zone: str = "Africa/Algiers"

    @model_validator(mode="after")
    def _refuse_default_secret_outside_development(self) -> Settings:
        if (
            self.environment != "development"
            and self.secret_key.get_secret_value() == DEVELOPMENT_SECRET_KEY
        ):
            raise ValueError(
                "SECRET_KEY is still the development default; set a long random SECRET_KEY "
                f"before running with ENVIRONMENT={self.environment}"
            )
        if self.environment == "production" and len(self.secret_key.get_secret_value()) < 32:
            raise ValueError("SECRET_KEY must be at least 32 characters in production")
        return self

    @property
    def session_policy(self) -> SessionPolicy:
        return SessionPolicy(
            idle=timedelta(minutes=self.session_idle_minutes),
            absolute=timedelta(hours=self.session_absolute_hours),
        )

    def throttle_policy(self, scope: Literal["account", "ip"]) -> ThrottlePolicy:
        limit = (
            self.auth_max_failures_per_account
            if scope == "account"
            else self.auth_max_failures_per_ip
        )
        return ThrottlePolicy(
            max_failures=limit,
            window=timedelta(seconds=self.auth_failure_window_seconds),
            lockout=timedelta(seconds=self.auth_lockout_seconds),
        )

    @property
    def secret(self) -> str:
        return self.secret_key.get_secret_value()

    @property
    def base_url(self) -> str:
        return (self.public_base_url or f"http://{self.web_host}:{self.web_port}").rstrip("/")

    @property
    def uploads_path(self) -> Path:
        return self.upload_dir or self.data_dir / "uploads"

    @property
    def temporal_target(self) -> str:
        return self.temporal_address or f"127.0.0.1:{self.temporal_port}"

    @property
    def temporal_ui_url(self) -> str:
        return f"http://127.0.0.1:{self.temporal_ui_port}"

    @property
    def sqlalchemy_url(self) -> str:
        return _async_driver(
            self.database_url
            or f"postgresql+asyncpg://cloudmanager_app@127.0.0.1:{self.postgres_port}/cloudmanager"
        )

    @property
    def sqlalchemy_migration_url(self) -> str:
        if self.migration_database_url:
            return _async_driver(self.migration_database_url)
        if self.database_url:
            return self.sqlalchemy_url
        return f"postgresql+asyncpg://cloudmanager@127.0.0.1:{self.postgres_port}/cloudmanager"


def _async_driver(url: str) -> str:
    # Accept the usual postgres:// spellings and pick the async driver ourselves.
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    return url


@lru_cache
def get_settings() -> Settings:
    return Settings()
