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


async def test_migrations_match_the_models(sessionmaker):
    def differences(connection):
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, Base.metadata)

    async with sessionmaker() as session:
        connection = await session.connection()
        assert await connection.run_sync(differences) == []


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_events SET action = 'tampered'",
        "DELETE FROM audit_events",
        "TRUNCATE audit_events",
    ],
)
async def test_audit_events_refuse_update_delete_and_truncate(sessionmaker, statement):
    async with sessionmaker() as session, session.begin():
        session.add(AuditEvent(action="user.login", actor_label="amina@example.dz"))

    async with sessionmaker() as session:
        with pytest.raises(DBAPIError, match="append-only"):
            await session.execute(text(statement))
        await session.rollback()
        assert await session.scalar(text("SELECT count(*) FROM audit_events")) >= 1


async def test_demo_data_loads_once(settings):
    await seed_demo_data(settings)  # whatever ran before, it is loaded now

    assert await seed_demo_data(settings) is False
