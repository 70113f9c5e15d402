"""Helpers for the user, role, invitation and audit tests: form tokens, role ids, fresh reads."""

from __future__ import annotations

import random
import re
import uuid
from urllib.parse import urlsplit

import httpx
from sqlalchemy import select

from api.identity import roles
from db.models import AuditEvent, Role, User
from tests.support.accounts import CSRF_INPUT

INVITATION_LINK = re.compile(r"https?://\S+/invitation\?token=[\w-]+")


async def form_token(client: httpx.AsyncClient, path: str) -> str:
    page = await client.get(path)
    assert page.status_code == 200, (path, page.status_code, page.text[:300])
    return CSRF_INPUT.search(page.text).group(1)


async def role_id(sessionmaker, key: str) -> str:
    async with sessionmaker() as db:
        return str((await roles.role_by_key(db, key)).id)


async def fresh_user(sessionmaker, user_id: uuid.UUID) -> User:
    async with sessionmaker() as db:
        return await db.get_one(User, user_id)


async def role_keys(sessionmaker, user_id: uuid.UUID) -> set[str]:
    async with sessionmaker() as db:
        return {role.key for role in await roles.roles_of(db, user_id)}


async def fresh_role(sessionmaker, role_uuid: str | uuid.UUID) -> Role | None:
    async with sessionmaker() as db:
        return await db.get(Role, uuid.UUID(str(role_uuid)))


async def audit_events(sessionmaker, action: str, target_id: object) -> list[AuditEvent]:
    async with sessionmaker() as db:
        rows = await db.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == action, AuditEvent.target_id == str(target_id))
            .order_by(AuditEvent.occurred_at)
        )
        return list(rows)


def invitation_path(mail_text: str) -> str:
    """The path and query of the link in an invitation email."""
    link = urlsplit(INVITATION_LINK.search(mail_text).group(0))
    return f"{link.path}?{link.query}"


def own_ip() -> dict[str, str]:
    """Headers that make a client come from its own address (uvicorn trusts X-Forwarded-For from
    127.0.0.1), so failed attempts in one test do not count against every other test."""
    address = "10.{}.{}.{}".format(*(random.randint(1, 254) for _ in range(3)))
    return {"X-Forwarded-For": address, "Accept-Language": "en"}
