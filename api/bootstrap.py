"""Bring a database to what the application needs: the schema, the built-in roles, then the
helpdesk's starting configuration (calendar, group, categories, SLA policies, canned replies)."""

from __future__ import annotations

import asyncio

from api.identity.roles import ensure_builtin_roles
from api.support import ensure_support_defaults
from db.migrate import upgrade
from db.session import create_engine, create_sessionmaker


async def _ensure_reference_data(database_url: str) -> None:
    engine = create_engine(database_url, pool_size=1)
    try:
        async with create_sessionmaker(engine)() as db, db.begin():
            await ensure_builtin_roles(db)
            await ensure_support_defaults(db)
    finally:
        await engine.dispose()


def prepare_database(database_url: str) -> None:
    """Blocking (Alembic runs its own event loop): call from a thread inside a running loop."""
    upgrade(database_url)
    asyncio.run(_ensure_reference_data(database_url))
