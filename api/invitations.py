"""Invitations: admins invite staff, company owners invite colleagues into their own company.

An invited user exists with status `invited` and no password: they cannot sign in, reset a
password or hold a session until they accept. The email carries a single-use link (a one-time
token, 7 days); accepting it sets their name and password, proves their address and activates
the account. An unknown, used or expired link, or one whose user is no longer invited, all read
the same: invalid.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api import audit, users
from api.access import Principal
from api.audit import Actor
from api.email import Outgoing
from api.identity import one_time_tokens, passwords, profile, roles, throttle
from api.identity.accounts import InputError, normalise_email, user_by_email
from api.identity.one_time_tokens import LIFETIMES
from api.settings import Settings
from db.models import Customer, OneTimeTokenPurpose, User, UserKind, UserStatus
from i18n import N_

INVITATION = OneTimeTokenPurpose.INVITATION
VALID_DAYS = LIFETIMES[INVITATION].days


@dataclass
class Invitation:
    full_name: str
    email: str
    locale: str
    role_ids: list[str]


async def _check(
    db: AsyncSession, form: Invitation, scope: UserKind, principal: Principal
) -> tuple[str, str, list]:
    errors: dict = {}
    full_name = users.clean_name(form.full_name, "full_name", errors)
    email = form.email
    try:
        email = normalise_email(form.email)
    except InputError as invalid:
        errors.update(invalid.errors)
    else:
        if await user_by_email(db, email) is not None:
            errors["email"] = (N_("An account with this email address already exists."), {})
    profile.check_locale(form.locale, errors)
    chosen: list = []
    try:
        chosen = await users.resolve_roles(db, scope, form.role_ids, principal.permissions)
    except InputError as invalid:
        errors.update(invalid.errors)
    if errors:
        raise InputError(errors)
    return full_name, email, chosen


async def _create(
    db: AsyncSession, settings: Settings, principal: Principal, actor: Actor, form: Invitation,
    scope: UserKind, customer: Customer | None,
) -> tuple[User, list[Outgoing]]:  # fmt: skip
    full_name, email, chosen = await _check(db, form, scope, principal)
    user = User(
        email=email,
        full_name=full_name,
        kind=scope,
        customer_id=customer.id if customer else None,
        status=UserStatus.INVITED,
        locale=form.locale,
        time_zone=settings.time_zone,
        password_hash=None,
    )
    db.add(user)
    await db.flush()
    await roles.assign_roles(db, user.id, [role.id for role in chosen])
    audit.record(
        db, actor, "user.invited", target_type="user", target_id=user.id,
        after={**await users.snapshot(db, user, chosen),
               "customer": str(customer.id) if customer else None},
    )  # fmt: skip
    email_out = await invitation_email(db, settings, user, principal.user.full_name, customer)
    return user, [email_out]


async def invite_staff(
    db: AsyncSession, settings: Settings, principal: Principal, actor: Actor, form: Invitation
) -> tuple[User, list[Outgoing]]:
    """A staff account with staff roles, invited by an admin (`users.create`)."""
    return await _create(db, settings, principal, actor, form, UserKind.STAFF, None)


async def invite_colleague(
    db: AsyncSession, settings: Settings, principal: Principal, actor: Actor, form: Invitation
) -> tuple[User, list[Outgoing]]:
    """A user of the inviter's own company, with customer roles the inviter may grant."""
    if principal.customer_id is None:
        raise users.UserNotFound(principal.user_id)
    customer = await db.get_one(Customer, principal.customer_id)
    return await _create(db, settings, principal, actor, form, UserKind.CUSTOMER, customer)


async def invitation_email(
    db: AsyncSession, settings: Settings, user: User, inviter: str, customer: Customer | None
) -> Outgoing:
    token = await one_time_tokens.issue(db, user.id, INVITATION)
    return Outgoing(
        "invitation", user.email, user.locale,
        {"name": user.full_name, "inviter": inviter,
         "company": customer.name if customer else "",
         "accept_url": f"{settings.base_url}/invitation?token={token}",
         "days": VALID_DAYS},
        f"invitation:{user.id}:{token[:16]}",
    )  # fmt: skip


async def resend(
    db: AsyncSession, settings: Settings, principal: Principal, actor: Actor,
    user_id: uuid.UUID, *, customer_id: uuid.UUID | None = None,
) -> list[Outgoing]:  # fmt: skip
    """A new link for someone still invited; the previous links stop working."""
    user = await users.find_user(db, user_id, customer_id=customer_id, for_update=True)
    if user.status != UserStatus.INVITED:
        raise users.Refused(N_("Only a pending invitation can be sent again."))
    await users.ensure_may_manage(db, principal, user)
    await users.end_invitations(db, user.id)
    customer = await db.get(Customer, user.customer_id) if user.customer_id else None
    audit.record(db, actor, "user.invitation_resent", target_type="user", target_id=user.id)
    return [await invitation_email(db, settings, user, principal.user.full_name, customer)]


async def pending_invitation(db: AsyncSession, token: str) -> User | None:
    """Whose invitation this link is, without using it; None for every kind of invalid link."""
    user_id = await one_time_tokens.owner(db, token, INVITATION)
    if user_id is None:
        return None
    user = await db.get(User, user_id)
    return user if user is not None and user.status == UserStatus.INVITED else None


async def accept(
    db: AsyncSession, settings: Settings, token: str, full_name: str, password: str, actor: Actor
) -> User | None:
    """Set the name and password, prove the address, activate. None for an invalid link."""
    user = await pending_invitation(db, token)
    if user is None:
        await throttle.record_failure(db, throttle.ip_key(actor.ip), settings.throttle_policy("ip"))
        audit.record(db, actor, "user.invitation_invalid", after={"reason": "invalid_link"})
        return None
    errors: dict = {}
    name = users.clean_name(full_name, "full_name", errors)
    company = ""
    if user.customer_id is not None:
        company = await db.scalar(select(Customer.name).where(Customer.id == user.customer_id))
    problem = passwords.password_problem(
        password, email=user.email, names=tuple(n for n in (name, company or "") if n)
    )
    if problem:
        errors["password"] = (problem.message, problem.variables)
    if errors:
        raise InputError(errors)
    if await one_time_tokens.consume(db, token, INVITATION) is None:
        return None  # a concurrent acceptance used it first
    user = await users.find_user(db, user.id, for_update=True)
    if user.status != UserStatus.INVITED:
        return None
    before = await users.snapshot(db, user)
    user.full_name = name
    user.password_hash = await passwords.hash_password(password)
    user.email_verified_at = user.email_verified_at or await db.scalar(select(func.now()))
    user.status = UserStatus.ACTIVE
    await throttle.clear(db, [throttle.account_key(user.email)])
    after = await users.snapshot(db, user)
    audit.record(
        db, Actor(user.id, user.email, actor.ip, actor.user_agent), "user.invitation_accepted",
        target_type="user", target_id=user.id,
        before={"status": before["status"], "full_name": before["full_name"]},
        after={"status": after["status"], "full_name": after["full_name"]},
    )  # fmt: skip
    return user
