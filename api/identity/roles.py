"""Roles: the built-in ones (created if missing, never deleted) and admins' own."""

from __future__ import annotations

import uuid

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from api.permissions import BUILTIN_ROLES
from db.models import Role, UserKind, UserRole


async def ensure_builtin_roles(db: AsyncSession) -> None:
    """Create the built-in roles that do not exist yet; admins' edits to existing ones stay."""
    for role in BUILTIN_ROLES:
        await db.execute(
            insert(Role)
            .values(
                key=role.key,
                name=role.name,
                scope=UserKind(role.scope),
                builtin=True,
                requires_two_factor=role.requires_two_factor,
                permissions=sorted(role.permissions),
            )
            .on_conflict_do_nothing(index_elements=["key"])
        )


async def role_by_key(db: AsyncSession, key: str) -> Role:
    return await db.scalar(select(Role).where(Role.key == key))


async def assign_roles(db: AsyncSession, user_id: uuid.UUID, role_ids: list[uuid.UUID]) -> None:
    await db.execute(UserRole.__table__.delete().where(UserRole.user_id == user_id))
    if role_ids:
        await db.execute(
            insert(UserRole).values([{"user_id": user_id, "role_id": rid} for rid in role_ids])
        )


async def permissions_of(db: AsyncSession, user_id: uuid.UUID) -> tuple[frozenset[str], bool]:
    """(every permission the user's roles grant, whether any of those roles demands 2FA)."""
    row = (await db.execute(_PERMISSIONS_OF, {"user_id": user_id})).one()
    return frozenset(row.permissions or ()), bool(row.requires_two_factor)


_PERMISSIONS_OF = text(
    """
    SELECT (SELECT array_agg(DISTINCT permission)
              FROM user_roles JOIN roles ON roles.id = user_roles.role_id,
                   unnest(roles.permissions) AS permission
             WHERE user_roles.user_id = :user_id) AS permissions,
           (SELECT bool_or(roles.requires_two_factor)
              FROM user_roles JOIN roles ON roles.id = user_roles.role_id
             WHERE user_roles.user_id = :user_id) AS requires_two_factor
    """
)


async def roles_of(db: AsyncSession, user_id: uuid.UUID) -> list[Role]:
    rows = await db.scalars(
        select(Role).join(UserRole, UserRole.role_id == Role.id).where(UserRole.user_id == user_id)
    )
    return list(rows)
