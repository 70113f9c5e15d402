"""Demo data, loaded once: every step is idempotent, and a marker row records that it ran.

Each module that brings demo data (customers, tickets, catalogue…) adds a step to SEED_STEPS and,
when it creates people, their logins to DEMO_LOGINS so `make run` can print them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import AppSetting
from db.session import create_engine, create_sessionmaker

MARKER_KEY = "demo_data"
DEMO_PASSWORD = "Demo-Password-2026!"  # noqa: S105 (published demo credential, demo data only)
DEMO_LOGINS: list[tuple[str, str]] = []


async def _organisation(session: AsyncSession) -> None:
    """The provider itself: its legal identity goes on quotes and invoices."""
    await session.execute(
        insert(AppSetting)
        .values(
            key="organisation",
            value={
                "legal_name": "Demo Hébergement SARL",
                "trade_name": "Demo Cloud",
                "address": "12 rue Didouche Mourad, 16000 Alger, Algérie",
                "email": "support@cloudmanager.localhost",
                "phone": "+213 21 00 00 00",
                "nif": "000016001234567",
                "nis": "000116010012345",
                "rc": "16/00-1234567B21",
                "article_imposition": "16012345678",
            },
        )
        .on_conflict_do_nothing(index_elements=["key"])
    )


SEED_STEPS: list[Callable[[AsyncSession], Awaitable[None]]] = [_organisation]


async def seed_demo_data(database_url: str) -> bool:
    """Load the demo data unless already loaded; returns whether it ran now."""
    engine = create_engine(database_url, pool_size=1)
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            # The marker row is locked for the whole seed: two processes seeding at once wait.
            await session.execute(
                insert(AppSetting)
                .values(key=MARKER_KEY, value={"loaded": False})
                .on_conflict_do_nothing(index_elements=["key"])
            )
            marker = await session.scalar(
                select(AppSetting).where(AppSetting.key == MARKER_KEY).with_for_update()
            )
            if marker.value.get("loaded"):
                return False
            for step in SEED_STEPS:
                await step(session)
            marker.value = {"loaded": True}
        return True
    finally:
        await engine.dispose()
