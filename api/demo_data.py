"""Demo data, loaded once: every step is idempotent, and a marker row records that it ran.

Each module that brings demo data (customers, tickets, catalogue…) adds a step to SEED_STEPS and,
when it creates people, their logins to DEMO_LOGINS so `make run` can print them.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.service import RPCError

from api import demo_kyc
from api.identity import roles, totp
from api.identity.passwords import hash_password
from api.settings import Settings
from api.support import ensure_support_defaults
from api.support.defaults import GROUP_NAME
from db.models import (
    AppSetting,
    Customer,
    CustomerKind,
    CustomerStatus,
    SupportGroup,
    SupportGroupMember,
    User,
    UserKind,
)
from db.session import create_engine, create_sessionmaker

MARKER_KEY = "demo_data"
DEMO_PASSWORD = "Demo-Password-2026!"  # noqa: S105 (published demo credential, demo data only)
# Staff roles require two-step sign-in: demo staff share this published key, to add once to an
# authenticator app (or: oathtool --totp -b KEY).
DEMO_TOTP_SECRET = "CLOUDMANAGERDEMOKEYFORSTAFFLOGIN"  # noqa: S105
DEMO_COMPANY = "Atlas Numérique SARL"
DEMO_LOGINS: list[tuple[str, str]] = [
    ("admin", "admin@demo.cloudmanager.dz"),
    ("team_lead", "lead@demo.cloudmanager.dz"),
    ("agent", "agent@demo.cloudmanager.dz"),
    ("sales", "sales@demo.cloudmanager.dz"),
    ("accounting", "accounting@demo.cloudmanager.dz"),
    ("customer_owner", "owner@atlas-numerique.dz"),
    ("customer_member", "member@atlas-numerique.dz"),
    ("billing_contact", "billing@atlas-numerique.dz"),
]
DEMO_NAMES = {
    "admin": "Karim Haddad",
    "team_lead": "Nadia Belkacem",
    "agent": "Yacine Mansouri",
    "sales": "Lina Cherif",
    "accounting": "Samir Boudiaf",
    "customer_owner": "Amina Benali",
    "customer_member": "Rachid Toumi",
    "billing_contact": "Sofia Kaci",
}


async def _organisation(db: AsyncSession, settings: Settings) -> None:
    """The provider itself: its legal identity goes on quotes and invoices."""
    await db.execute(
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


async def _people(db: AsyncSession, settings: Settings) -> None:
    """One user per built-in role; customers in one demo company."""
    company = Customer(kind=CustomerKind.COMPANY, name=DEMO_COMPANY, status=CustomerStatus.ACTIVE)
    db.add(company)
    await db.flush()
    password_hash = await hash_password(DEMO_PASSWORD)
    now = await db.scalar(select(func.now()))
    for role_key, email in DEMO_LOGINS:
        role = await roles.role_by_key(db, role_key)
        staff = role.scope == UserKind.STAFF
        user = User(
            email=email,
            full_name=DEMO_NAMES[role_key],
            kind=role.scope,
            customer_id=None if staff else company.id,
            locale="fr",
            time_zone=settings.time_zone,
            password_hash=password_hash,
            email_verified_at=now,
            totp_secret_encrypted=(
                totp.encrypt_secret(settings.secret, DEMO_TOTP_SECRET) if staff else None
            ),
            totp_enabled_at=now if staff else None,
        )
        db.add(user)
        await db.flush()
        await roles.assign_roles(db, user.id, [role.id])


async def _support_team(db: AsyncSession, settings: Settings) -> None:
    """The demo team lead leads the default "Support" group; the lead and the agent work in it."""
    await ensure_support_defaults(db)  # normally done at bootstrap; harmless when it was
    group = await db.scalar(select(SupportGroup).where(SupportGroup.name == GROUP_NAME))
    emails = dict(DEMO_LOGINS)
    people = {
        user.email: user
        for user in await db.scalars(
            select(User).where(User.email.in_([emails["team_lead"], emails["agent"]]))
        )
    }
    lead = people.get(emails["team_lead"])
    if group is None or not people:
        return
    if lead is not None and group.lead_id is None:
        group.lead_id = lead.id
    await db.execute(
        insert(SupportGroupMember)
        .values([{"group_id": group.id, "user_id": user.id} for user in people.values()])
        .on_conflict_do_nothing()
    )


SEED_STEPS: list[Callable[[AsyncSession, Settings], Awaitable[None]]] = [
    _organisation,
    _people,
    _support_team,
    demo_kyc.prospect_with_documents,
]
# Steps that talk to Temporal, once the records they need are committed. A Temporal that does
# not answer leaves the demo without them, never without its records.
AFTER_COMMIT: list[Callable[[Settings], Awaitable[None]]] = [demo_kyc.submit_for_review]


async def seed_demo_data(settings: Settings) -> bool:
    """Load the demo data unless already loaded; returns whether it ran now."""
    engine = create_engine(settings.sqlalchemy_url, pool_size=1)
    try:
        async with create_sessionmaker(engine)() as db, db.begin():
            # The marker row is locked for the whole seed: two processes seeding at once wait.
            await db.execute(
                insert(AppSetting)
                .values(key=MARKER_KEY, value={"loaded": False})
                .on_conflict_do_nothing(index_elements=["key"])
            )
            marker = await db.scalar(
                select(AppSetting).where(AppSetting.key == MARKER_KEY).with_for_update()
            )
            if marker.value.get("loaded"):
                return False
            for step in SEED_STEPS:
                await step(db, settings)
            marker.value = {"loaded": True}
        for step in AFTER_COMMIT:
            try:
                await step(settings)
            except (RPCError, OSError, RuntimeError) as unavailable:
                logging.getLogger(__name__).warning("demo step skipped: %s", unavailable)
        return True
    finally:
        await engine.dispose()
