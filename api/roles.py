"""The role editor. Admins create, edit and delete their own roles; built-in roles keep their
name and can never be deleted, but their permissions and their two-step requirement can be
edited, except that `admin` always keeps every permission (nobody can lock the console away).

A role's permissions are read at every request (api.identity.roles.permissions_of), so an edit
takes effect on the holders' next request. Nobody grants a permission they do not hold.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api import audit
from api.access import Principal
from api.audit import Actor
from api.identity.accounts import InputError, clean_name
from api.permissions import ALL_PERMISSIONS
from api.users import Refused
from db.models import Role, UserKind, UserRole
from i18n import N_

MAX_ROLE_NAME = 100
MAX_KEY = 40
ADMIN_ROLE = "admin"


class RoleNotFound(LookupError):
    pass


class RoleInUse(Exception):
    """A role still held by users cannot be deleted."""

    def __init__(self, holders: int) -> None:
        super().__init__(holders)
        self.holders = holders


@dataclass
class RoleForm:
    name: str
    scope: str  # "staff" or "customer"; fixed once the role exists
    permissions: list[str]
    requires_two_factor: bool


def snapshot(role: Role) -> dict:
    return {
        "key": role.key,
        "name": role.name,
        "scope": role.scope.value,
        "permissions": sorted(role.permissions),
        "requires_two_factor": role.requires_two_factor,
    }


def derive_key(name: str) -> str:
    """`Support niveau 2` → `support_niveau_2`: ASCII, lower case, underscores."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "_", ascii_name.lower()).strip("_")[:MAX_KEY] or "role"


async def _unique_key(db: AsyncSession, base: str) -> str:
    taken = set(await db.scalars(select(Role.key).where(Role.key.like(f"{base}%"))))
    if base not in taken:
        return base
    suffix = 2
    while f"{base}_{suffix}" in taken:
        suffix += 1
    return f"{base}_{suffix}"


async def find_role(db: AsyncSession, role_id: uuid.UUID, *, for_update: bool = False) -> Role:
    statement = select(Role).where(Role.id == role_id)
    if for_update:
        statement = statement.with_for_update()
    role = await db.scalar(statement)
    if role is None:
        raise RoleNotFound(role_id)
    return role


async def holders(db: AsyncSession, role_id: uuid.UUID) -> int:
    return int(await db.scalar(select(func.count()).where(UserRole.role_id == role_id)) or 0)


async def _check_name(
    db: AsyncSession, raw: str, errors: dict, *, except_id: uuid.UUID | None = None
) -> str:
    name = clean_name(raw, "name", errors)
    if "name" in errors:
        return name
    if len(name) > MAX_ROLE_NAME:
        errors["name"] = (N_("Use at most %(count)s characters."), {"count": MAX_ROLE_NAME})
        return name
    same = select(Role.id).where(func.lower(Role.name) == name.lower())
    if except_id is not None:
        same = same.where(Role.id != except_id)
    if await db.scalar(same.limit(1)) is not None:
        errors["name"] = (N_("Another role already has this name."), {})
    return name


def _check_permissions(
    submitted: list[str], held_before: set[str], principal: Principal, errors: dict
) -> list[str]:
    """The permissions a form asks for. Those the editor does not hold themselves are neither
    granted nor taken away: they stay as they were."""
    chosen = set(submitted)
    if not chosen <= ALL_PERMISSIONS:
        errors["permissions"] = (N_("Choose permissions from the table."), {})
        return sorted(held_before)
    if (chosen - held_before) - principal.permissions:
        errors["permissions"] = (N_("You cannot grant permissions you do not have."), {})
    return sorted((chosen & principal.permissions) | (held_before - principal.permissions))


async def create_role(db: AsyncSession, principal: Principal, actor: Actor, form: RoleForm) -> Role:
    errors: dict = {}
    name = await _check_name(db, form.name, errors)
    if form.scope not in (UserKind.STAFF.value, UserKind.CUSTOMER.value):
        errors["scope"] = (N_("Choose who this role is for."), {})
    permissions = _check_permissions(form.permissions, set(), principal, errors)
    if errors:
        raise InputError(errors)
    role = Role(
        key=await _unique_key(db, derive_key(name)),
        name=name,
        scope=UserKind(form.scope),
        builtin=False,
        requires_two_factor=form.requires_two_factor,
        permissions=permissions,
    )
    db.add(role)
    await db.flush()
    audit.record(
        db, actor, "role.created", target_type="role", target_id=role.id, after=snapshot(role)
    )
    return role


async def update_role(
    db: AsyncSession, principal: Principal, actor: Actor, role_id: uuid.UUID, form: RoleForm
) -> Role:
    role = await find_role(db, role_id, for_update=True)
    errors: dict = {}
    name = (
        role.name if role.builtin else await _check_name(db, form.name, errors, except_id=role.id)
    )
    if role.key == ADMIN_ROLE:
        permissions = sorted(ALL_PERMISSIONS)  # the console can never be locked away
    else:
        permissions = _check_permissions(form.permissions, set(role.permissions), principal, errors)
    if errors:
        raise InputError(errors)
    before = snapshot(role)
    role.name = name
    role.permissions = permissions
    role.requires_two_factor = form.requires_two_factor
    after = snapshot(role)
    changed = [key for key in after if before[key] != after[key]]
    if changed:
        audit.record(
            db, actor, "role.updated", target_type="role", target_id=role.id,
            before={key: before[key] for key in changed},
            after={key: after[key] for key in changed},
        )  # fmt: skip
    return role


async def delete_role(db: AsyncSession, actor: Actor, role_id: uuid.UUID) -> None:
    role = await find_role(db, role_id, for_update=True)
    if role.builtin:
        raise Refused(N_("Built-in roles cannot be deleted."))
    count = await holders(db, role.id)
    if count:
        raise RoleInUse(count)
    before = snapshot(role)
    await db.delete(role)
    await db.flush()
    audit.record(db, actor, "role.deleted", target_type="role", target_id=role_id, before=before)
