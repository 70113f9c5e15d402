"""User management: admins manage every user (profile, roles, status, second factor, sessions),
company owners manage their colleagues.

Rules that hold whoever acts:
- nobody deactivates or locks their own account, and the last active administrator (or the last
  active owner of a company) keeps both their status and their role;
- nobody grants a role whose permissions they do not hold themselves, nor changes an account
  that has permissions they do not hold: a custom role with `users.edit` cannot make an admin;
- every change is audited with before/after in the caller's transaction; refusals write nothing.

The caller commits, then sends the emails a function returns (see api.identity.accounts).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from api import audit
from api.access import Principal
from api.audit import Actor
from api.identity import profile, roles, sessions, throttle
from api.identity.accounts import InputError, clean_name
from db.models import (
    BackupCode,
    Customer,
    OneTimeToken,
    OneTimeTokenPurpose,
    Role,
    User,
    UserKind,
    UserStatus,
)
from db.queries.users import count_active_holders
from i18n import N_

ADMIN_ROLE = "admin"
OWNER_ROLE = "customer_owner"


class UserNotFound(LookupError):
    """No such user, or one the caller may not see (another company's): answer 404."""


class Refused(Exception):
    """Not allowed in this state (yourself, the last administrator…). Nothing was written."""

    def __init__(self, message: str, **variables: object) -> None:
        super().__init__(message)
        self.message = message
        self.variables = variables


# -- reading and checking ------------------------------------------------------------------------


async def find_user(
    db: AsyncSession,
    user_id: uuid.UUID,
    *,
    customer_id: uuid.UUID | None = None,
    for_update: bool = False,
) -> User:
    """The user; with `customer_id`, only if they belong to that company."""
    statement = select(User).where(User.id == user_id)
    if customer_id is not None:
        statement = statement.where(User.customer_id == customer_id)
    if for_update:
        statement = statement.with_for_update()
    user = await db.scalar(statement)
    if user is None:
        raise UserNotFound(user_id)
    return user


def parse_id(raw: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except ValueError as invalid:
        raise UserNotFound(raw) from invalid


async def snapshot(db: AsyncSession, user: User, held: Iterable[Role] | None = None) -> dict:
    """What the audit trail records of a user: never a hash, a secret or a token."""
    held = await roles.roles_of(db, user.id) if held is None else held
    return {
        "full_name": user.full_name,
        "email": user.email,
        "status": user.status.value,
        "locale": user.locale,
        "time_zone": user.time_zone,
        "roles": sorted(role.key for role in held),
    }


def _changes(before: dict, after: dict) -> tuple[dict, dict]:
    keys = [key for key in after if before.get(key) != after[key]]
    return {key: before.get(key) for key in keys}, {key: after[key] for key in keys}


def grantable(role: Role, granted: frozenset[str]) -> bool:
    return set(role.permissions) <= granted


async def resolve_roles(
    db: AsyncSession,
    scope: UserKind,
    submitted: Iterable[str],
    granted: frozenset[str],
    current: Iterable[Role] = (),
) -> list[Role]:
    """The roles a form asks for, checked: of the user's scope, and only those the acting person
    may grant. Roles they may not grant stay as they are (kept if held, never added)."""
    available = {str(role.id): role for role in await db.scalars(select(Role))}
    chosen: dict[uuid.UUID, Role] = {}
    for raw in submitted:
        role = available.get(raw)
        if role is None or role.scope != scope:
            raise InputError({"roles": (N_("Choose roles from the list."), {})})
        if not grantable(role, granted):
            raise InputError(
                {"roles": (N_("You cannot grant a role with permissions you do not have."), {})}
            )
        chosen[role.id] = role
    for role in current:
        if not grantable(role, granted):
            chosen[role.id] = role
    if not chosen:
        raise InputError({"roles": (N_("Choose at least one role."), {})})
    return sorted(chosen.values(), key=lambda role: (not role.builtin, role.name))


async def ensure_may_manage(db: AsyncSession, principal: Principal, user: User) -> None:
    """Nobody acts on an account more powerful than their own."""
    held, _ = await roles.permissions_of(db, user.id)
    if not held <= principal.permissions:
        raise Refused(N_("You cannot change an account that has permissions you do not have."))


async def _holds(db: AsyncSession, user: User, role_key: str) -> bool:
    return any(role.key == role_key for role in await roles.roles_of(db, user.id))


async def _ensure_another_admin(db: AsyncSession, user: User) -> None:
    """Refuse when `user` is the last active administrator. The admin role's row is locked so
    that two admins demoting each other at the same moment cannot both succeed."""
    await db.execute(select(Role.id).where(Role.key == ADMIN_ROLE).with_for_update())
    if await count_active_holders(db, ADMIN_ROLE, excluding=user.id) == 0:
        raise Refused(
            N_(
                "%(name)s is the last active administrator: make someone else an administrator "
                "first."
            ),
            name=user.full_name,
        )


LAST_OWNER_STAYS = N_("%(name)s is the last active owner of the company and stays active.")
LAST_OWNER_KEEPS_ROLE = N_(
    "%(name)s is the last active owner of the company and keeps the owner role: make someone "
    "else an owner first."
)


async def _ensure_another_owner(
    db: AsyncSession, user: User, message: str = LAST_OWNER_STAYS
) -> None:
    if (
        await count_active_holders(db, OWNER_ROLE, excluding=user.id, customer_id=user.customer_id)
        == 0
    ):
        raise Refused(message, name=user.full_name)


async def end_invitations(db: AsyncSession, user_id: uuid.UUID) -> None:
    await db.execute(
        update(OneTimeToken)
        .where(
            OneTimeToken.user_id == user_id,
            OneTimeToken.purpose == OneTimeTokenPurpose.INVITATION,
            OneTimeToken.used_at.is_(None),
        )
        .values(used_at=func.now())
    )


# -- profile and roles ---------------------------------------------------------------------------


@dataclass
class ProfileChanges:
    full_name: str
    locale: str
    time_zone: str
    role_ids: list[str]


async def update_user(
    db: AsyncSession, principal: Principal, actor: Actor, user_id: uuid.UUID,
    changes: ProfileChanges,
) -> User:  # fmt: skip
    user = await find_user(db, user_id, for_update=True)
    await ensure_may_manage(db, principal, user)
    current = await roles.roles_of(db, user.id)
    errors: dict = {}
    full_name = clean_name(changes.full_name, "full_name", errors)
    locale = profile.check_locale(changes.locale, errors)
    time_zone = profile.check_time_zone(changes.time_zone, errors)
    new_roles: list[Role] = current
    try:
        new_roles = await resolve_roles(
            db, user.kind, changes.role_ids, principal.permissions, current
        )
    except InputError as invalid:
        errors.update(invalid.errors)
    removes_admin = any(r.key == ADMIN_ROLE for r in current) and not any(
        r.key == ADMIN_ROLE for r in new_roles
    )
    if removes_admin and user.status == UserStatus.ACTIVE and "roles" not in errors:
        try:
            await _ensure_another_admin(db, user)
        except Refused as refused:
            errors["roles"] = (refused.message, refused.variables)
    if errors:
        raise InputError(errors)

    before = await snapshot(db, user, current)
    user.full_name, user.locale, user.time_zone = full_name, locale, time_zone
    if {role.id for role in new_roles} != {role.id for role in current}:
        await roles.assign_roles(db, user.id, [role.id for role in new_roles])
    after = await snapshot(db, user, new_roles)
    changed_before, changed_after = _changes(before, after)
    if changed_after:
        audit.record(
            db, actor, "user.updated", target_type="user", target_id=user.id,
            before=changed_before, after=changed_after,
        )  # fmt: skip
    return user


async def change_company_roles(
    db: AsyncSession, principal: Principal, actor: Actor, user_id: uuid.UUID,
    role_ids: list[str], *, customer_id: uuid.UUID,
) -> User:  # fmt: skip
    """A company owner gives a colleague other roles (owner, member, billing or technical
    contact). The company keeps at least one active owner, whoever is being changed."""
    # One company's user changes are serialised: two owners cannot demote each other at once.
    await db.execute(select(Customer.id).where(Customer.id == customer_id).with_for_update())
    user = await find_user(db, user_id, customer_id=customer_id, for_update=True)
    await ensure_may_manage(db, principal, user)
    current = await roles.roles_of(db, user.id)
    new_roles = await resolve_roles(db, UserKind.CUSTOMER, role_ids, principal.permissions, current)
    keeps_owner = any(role.key == OWNER_ROLE for role in new_roles)
    if await _holds(db, user, OWNER_ROLE) and not keeps_owner and user.status == UserStatus.ACTIVE:
        await _ensure_another_owner(db, user, LAST_OWNER_KEEPS_ROLE)
    if {role.id for role in new_roles} == {role.id for role in current}:
        return user
    await roles.assign_roles(db, user.id, [role.id for role in new_roles])
    audit.record(
        db, actor, "user.updated", target_type="user", target_id=user.id,
        before={"roles": sorted(r.key for r in current)},
        after={"roles": sorted(r.key for r in new_roles)},
    )  # fmt: skip
    return user


# -- status --------------------------------------------------------------------------------------


def _status_event(
    db: AsyncSession, actor: Actor, action: str, user: User, before: UserStatus, **extra: object
) -> None:
    audit.record(
        db, actor, action, target_type="user", target_id=user.id,
        before={"status": before.value}, after={"status": user.status.value, **extra},
    )  # fmt: skip


async def deactivate(
    db: AsyncSession, principal: Principal, actor: Actor, user_id: uuid.UUID,
    *, customer_id: uuid.UUID | None = None,
) -> User:  # fmt: skip
    """Deactivated users cannot sign in; their sessions and pending invitation end. Their
    records stay (tickets, audit trail) and an admin can reactivate them."""
    if customer_id is not None:
        # One company's user changes are serialised: two owners cannot deactivate each other.
        await db.execute(select(Customer.id).where(Customer.id == customer_id).with_for_update())
    user = await find_user(db, user_id, customer_id=customer_id, for_update=True)
    if user.id == principal.user_id:
        raise Refused(N_("You cannot deactivate your own account."))
    await ensure_may_manage(db, principal, user)
    if user.status == UserStatus.DEACTIVATED:
        return user
    if user.status == UserStatus.ACTIVE:
        if await _holds(db, user, ADMIN_ROLE):
            await _ensure_another_admin(db, user)
        if user.customer_id is not None and await _holds(db, user, OWNER_ROLE):
            await _ensure_another_owner(db, user)
    before = user.status
    user.status = UserStatus.DEACTIVATED
    ended = await sessions.revoke_all_sessions(db, user.id)
    await end_invitations(db, user.id)
    _status_event(db, actor, "user.deactivated", user, before, sessions_ended=ended)
    return user


async def reactivate(
    db: AsyncSession, principal: Principal, actor: Actor, user_id: uuid.UUID
) -> User:
    """Back to active, or to invited when they never chose a password (send a new invitation)."""
    user = await find_user(db, user_id, for_update=True)
    await ensure_may_manage(db, principal, user)
    if user.status != UserStatus.DEACTIVATED:
        return user
    before = user.status
    user.status = UserStatus.ACTIVE if user.password_hash else UserStatus.INVITED
    _status_event(db, actor, "user.reactivated", user, before)
    return user


async def lock(db: AsyncSession, principal: Principal, actor: Actor, user_id: uuid.UUID) -> User:
    """Locked until an admin unlocks: sign-in refused, sessions ended."""
    user = await find_user(db, user_id, for_update=True)
    if user.id == principal.user_id:
        raise Refused(N_("You cannot lock your own account."))
    await ensure_may_manage(db, principal, user)
    if user.status == UserStatus.LOCKED:
        return user
    if user.status != UserStatus.ACTIVE:
        raise Refused(N_("Only an active account can be locked."))
    if await _holds(db, user, ADMIN_ROLE):
        await _ensure_another_admin(db, user)
    before = user.status
    user.status = UserStatus.LOCKED
    ended = await sessions.revoke_all_sessions(db, user.id)
    _status_event(db, actor, "user.locked", user, before, sessions_ended=ended)
    return user


async def unlock(db: AsyncSession, principal: Principal, actor: Actor, user_id: uuid.UUID) -> User:
    """Ends an admin's lock and the temporary lockout that failed sign-ins caused."""
    user = await find_user(db, user_id, for_update=True)
    await ensure_may_manage(db, principal, user)
    before = user.status
    key = throttle.account_key(user.email)
    throttled = await throttle.locked_until(db, [key]) is not None
    await throttle.clear(db, [key])
    if user.status == UserStatus.LOCKED:
        user.status = UserStatus.ACTIVE
    _status_event(db, actor, "user.unlocked", user, before, lockout_cleared=throttled)
    return user


async def temporary_lockout(db: AsyncSession, user: User):
    """Until when failed sign-ins lock this account out, if they do now."""
    return await throttle.locked_until(db, [throttle.account_key(user.email)])


# -- second factor and sessions ------------------------------------------------------------------


async def reset_two_factor(
    db: AsyncSession, principal: Principal, actor: Actor, user_id: uuid.UUID
) -> User:
    """Forget the TOTP secret and the backup codes: a person who lost their device sets it up
    again at their next sign-in when one of their roles requires it."""
    user = await find_user(db, user_id, for_update=True)
    await ensure_may_manage(db, principal, user)
    was_enabled = user.two_factor_enabled
    user.totp_secret_encrypted = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    removed = await db.execute(delete(BackupCode).where(BackupCode.user_id == user.id))
    audit.record(
        db, actor, "user.2fa_reset", target_type="user", target_id=user.id,
        before={"two_factor": was_enabled}, after={"two_factor": False,
                                                   "backup_codes_removed": removed.rowcount},
    )  # fmt: skip
    return user


async def revoke_sessions(
    db: AsyncSession, principal: Principal, actor: Actor, user_id: uuid.UUID
) -> int:
    """End every session of the user (but the caller's own, when they revoke their own)."""
    user = await find_user(db, user_id)
    await ensure_may_manage(db, principal, user)
    keep = principal.session.id if principal.session and user.id == principal.user_id else None
    ended = await sessions.revoke_all_sessions(db, user.id, except_session=keep)
    audit.record(
        db, actor, "user.sessions_revoked", target_type="user", target_id=user.id,
        after={"sessions_ended": ended},
    )  # fmt: skip
    return ended


async def revoke_session(
    db: AsyncSession, principal: Principal, actor: Actor, user_id: uuid.UUID,
    session_id: uuid.UUID,
) -> None:  # fmt: skip
    user = await find_user(db, user_id)
    await ensure_may_manage(db, principal, user)
    if not await sessions.revoke_session(db, session_id, user_id=user.id):
        raise UserNotFound(session_id)
    audit.record(
        db, actor, "user.session_revoked", target_type="user", target_id=user.id,
        after={"session": str(session_id)},
    )  # fmt: skip


async def remaining_backup_codes(db: AsyncSession, user: User) -> int:
    return int(
        await db.scalar(
            select(func.count()).where(BackupCode.user_id == user.id, BackupCode.used_at.is_(None))
        )
        or 0
    )
