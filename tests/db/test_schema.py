"""The schema the migrations build is the one the models describe, and the audit trail is
append-only in the database itself."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from api.demo_data import seed_demo_data
from db.base import Base
from db.models import AuditEvent
from db.session import create_engine


async def test_migrations_match_the_models(sessionmaker):
    def differences(connection):
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, Base.metadata)

    async with sessionmaker() as session:
        connection = await session.connection()
        assert await connection.run_sync(differences) == []


AUDIT_TAMPERING = [
    "UPDATE audit_events SET action = 'tampered'",
    "DELETE FROM audit_events",
    "TRUNCATE audit_events",
]


async def _add_audit_event(sessionmaker) -> None:
    async with sessionmaker() as session, session.begin():
        session.add(AuditEvent(action="user.login", actor_label="amina@example.dz"))


@pytest.mark.parametrize("statement", AUDIT_TAMPERING)
async def test_the_application_role_may_not_change_audit_events(sessionmaker, statement):
    await _add_audit_event(sessionmaker)

    async with sessionmaker() as session:
        with pytest.raises(DBAPIError, match="permission denied"):
            await session.execute(text(statement))


@pytest.mark.parametrize("statement", AUDIT_TAMPERING)
async def test_even_the_owner_is_refused_by_the_append_only_trigger(
    sessionmaker, settings, statement
):
    await _add_audit_event(sessionmaker)
    owner = create_engine(settings.sqlalchemy_migration_url, pool_size=1)
    try:
        async with owner.connect() as connection:
            with pytest.raises(DBAPIError, match="append-only"):
                await connection.execute(text(statement))
            await connection.rollback()
            assert await connection.scalar(text("SELECT count(*) FROM audit_events")) >= 1
    finally:
        await owner.dispose()


async def test_demo_data_loads_once(settings):
    await seed_demo_data(settings)  # whatever ran before, it is loaded now

    assert await seed_demo_data(settings) is False
