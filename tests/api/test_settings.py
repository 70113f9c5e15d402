"""Settings: secrets are refused at their development default outside development."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from api.settings import Settings


@pytest.mark.parametrize("environment", ["production", "test"])
def test_default_secret_key_is_refused_outside_development(environment):
    with pytest.raises(ValidationError, match="SECRET_KEY is still the development default"):
        Settings(_env_file=None, environment=environment)


def test_development_accepts_the_default_and_derives_urls():
    settings = Settings(_env_file=None, postgres_port=6543, web_port=8123)

    assert settings.sqlalchemy_url.startswith("postgresql+asyncpg://")
    assert ":6543/" in settings.sqlalchemy_url
    assert settings.base_url == "http://127.0.0.1:8123"
    assert settings.time_zone == "Africa/Algiers"


def test_plain_postgres_urls_get_the_async_driver():
    settings = Settings(_env_file=None, database_url="postgres://u:p@db:5432/cm")

    assert settings.sqlalchemy_url == "postgresql+asyncpg://u:p@db:5432/cm"


def test_secret_never_appears_in_the_settings_repr():
    settings = Settings(_env_file=None, secret_key="a-very-secret-value-1234567890")

    assert "a-very-secret-value" not in repr(settings)
