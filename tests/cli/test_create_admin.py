"""`cloudmanager create-admin`: the first administrator, from the command line."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

from sqlalchemy import select

from api.identity import roles
from db.models import AuditEvent, User, UserKind


def _create_admin(settings, email: str, password: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "ENVIRONMENT": "development",
    }
    return subprocess.run(
        [sys.executable, "-m", "cli.main", "create-admin", "--email", email,
         "--name", "Première Admin", "--password-stdin"],
        input=password + "\n", capture_output=True, text=True, env=env, timeout=60, check=False,
    )  # fmt: skip


async def test_create_admin_makes_a_verified_staff_admin(settings, sessionmaker, unique):
    email = f"first-admin-{unique}@example.dz"

    done = await asyncio.to_thread(_create_admin, settings, email, "Glycine-Ressac-Mistral-77")

    assert done.returncode == 0, done.stderr
    async with sessionmaker() as db:
        user = await db.scalar(select(User).where(User.email == email))
        assert user.kind == UserKind.STAFF and user.email_verified_at is not None
        assert [role.key for role in await roles.roles_of(db, user.id)] == ["admin"]
        assert await db.scalar(
            select(AuditEvent).where(
                AuditEvent.action == "user.created", AuditEvent.target_id == str(user.id)
            )
        )


async def test_create_admin_refuses_a_weak_password_and_writes_nothing(
    settings, sessionmaker, unique
):
    email = f"weak-admin-{unique}@example.dz"

    done = await asyncio.to_thread(_create_admin, settings, email, "password1234")

    assert done.returncode == 2
    assert "not created" in done.stderr
    async with sessionmaker() as db:
        assert await db.scalar(select(User).where(User.email == email)) is None
