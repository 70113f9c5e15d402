"""What signed-in people do to their own account: profile, re-authentication for sensitive
changes, sessions, personal API tokens. Customers and staff alike.

Like `accounts`, every function takes the caller's transaction and writes its audit rows in it.
Functions that refuse raise `InputError` before writing anything; the failures that must be
counted (a wrong password or code typed to change something sensitive) are recorded by
`record_reauth_failure`, in a transaction of their own, by the caller.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from api import audit
from api.audit import Actor
from api.identity import api_tokens, passwords, profile, sessions, throttle
from api.identity.accounts import InputError, clean_name
from api.settings import Settings
from db.models import ApiToken, User
from i18n import N_

MAX_TOKEN_NAME_LENGTH = 100
MAX_TOKEN_SCOPES = 100


# -- profile -------------------------------------------------------------------------------------


async def update_profile(
    db: AsyncSession, user: User, *, full_name: str, locale: str, time_zone: str, actor: Actor
) -> bool:
    """Name, language and time zone. False when nothing changed (and nothing is recorded)."""
    errors: dict = {}
    name = clean_name(full_name, "full_name", errors)
    profile.check_locale(locale, errors)
    profile.check_time_zone(time_zone, errors)
    if errors:
        raise InputError(errors)
    before = {"full_name": user.full_name, "locale": user.locale, "time_zone": user.time_zone}
    after = {"full_name": name, "locale": locale, "time_zone": time_zone}
    changed = {key for key in after if after[key] != before[key]}
    if not changed:
        return False
    user.full_name, user.locale, user.time_zone = name, locale, time_zone
    audit.record(
        db, actor, "account.profile_updated", target_type="user", target_id=user.id,
        before={key: before[key] for key in sorted(changed)},
        after={key: after[key] for key in sorted(changed)},
    )  # fmt: skip
    return True


# -- re-authentication for sensitive changes ----------------------------------------------------


async def reauth_locked_until(db: AsyncSession, user: User) -> datetime | None:
    """While the account is locked by failed attempts, sensitive changes are refused too: a
    stolen session must not become a way around the lockout."""
    return await throttle.locked_until(db, [throttle.account_key(user.email)])


async def record_reauth_failure(
    db: AsyncSession, settings: Settings, user_id: uuid.UUID, email: str, actor: Actor,
    action: str, fields: list[str],
) -> datetime | None:  # fmt: skip
    """A wrong password or code typed to change something sensitive: counted against the account
    like a failed sign-in, and audited. The lock it set, if any."""
    locked = await throttle.record_failure(
        db, throttle.account_key(email), settings.throttle_policy("account")
    )
    audit.record(
        db, actor, action, target_type="user", target_id=user_id,
        after={"reason": "bad_" + "_and_".join(sorted(fields))},
    )  # fmt: skip
    return locked


async def check_password(user: User, password: str) -> None:
    matches, _ = await passwords.verify_password(user.password_hash, password)
    if not matches:
        raise InputError({"password": (N_("Your password is not correct."), {})})


# -- sessions ------------------------------------------------------------------------------------


async def revoke_session(db: AsyncSession, session_id: uuid.UUID, user: User, actor: Actor) -> bool:
    """One of the user's own sessions; False (answer 404) for anyone else's or an ended one."""
    if not await sessions.revoke_session(db, session_id, user_id=user.id):
        return False
    audit.record(
        db, actor, "auth.session_revoked", target_type="user", target_id=user.id,
        after={"session": str(session_id)},
    )  # fmt: skip
    return True


async def revoke_other_sessions(
    db: AsyncSession, user: User, current_session: uuid.UUID, actor: Actor
) -> int:
    ended = await sessions.revoke_all_sessions(db, user.id, except_session=current_session)
    audit.record(
        db, actor, "auth.sessions_revoked", target_type="user", target_id=user.id,
        after={"sessions_ended": ended},
    )  # fmt: skip
    return ended


# -- personal API tokens -------------------------------------------------------------------------


def _token_expiry(raw: str, time_zone: str, errors: dict) -> datetime | None:
    """An optional date: the token works until the end of that day in the user's time zone."""
    raw = raw.strip()
    if not raw:
        return None
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        errors["expires_on"] = (N_("Enter a date like 2026-12-31, or leave it empty."), {})
        return None
    zone = ZoneInfo(time_zone if time_zone in profile.all_time_zones() else "UTC")
    today = datetime.now(zone).date()
    if day <= today:
        errors["expires_on"] = (N_("Choose a date after today, or leave it empty."), {})
        return None
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)


async def create_token(
    db: AsyncSession, user: User, granted: frozenset[str], *, name: str, scopes: list[str],
    expires_on: str, actor: Actor,
) -> tuple[str, ApiToken]:  # fmt: skip
    """A personal API token limited to some of the user's own permissions; the secret is
    returned once and only its hash is kept."""
    errors: dict = {}
    clean = clean_name(name, "name", errors)
    if "name" not in errors and len(clean) > MAX_TOKEN_NAME_LENGTH:
        errors["name"] = (N_("Use at most %(count)s characters."), {"count": MAX_TOKEN_NAME_LENGTH})
    chosen = set(scopes)
    if not chosen:
        errors["scopes"] = (N_("Choose at least one permission."), {})
    elif len(chosen) > MAX_TOKEN_SCOPES or not chosen <= granted:
        errors["scopes"] = (N_("Choose among the permissions listed."), {})
    expires_at = _token_expiry(expires_on, user.time_zone, errors)
    if errors:
        raise InputError(errors)
    secret, record = await api_tokens.create_personal_token(
        db, user, clean, frozenset(chosen), expires_at
    )
    audit.record(
        db, actor, "api_token.created", target_type="api_token", target_id=record.id,
        after={"name": clean, "prefix": record.prefix, "scopes": record.scopes,
               "expires_at": expires_at.isoformat() if expires_at else None},
    )  # fmt: skip
    return secret, record


async def revoke_token(db: AsyncSession, token_id: uuid.UUID, user: User, actor: Actor) -> bool:
    """False (answer 404) for someone else's token or one already revoked."""
    if not await api_tokens.revoke_personal_token(db, token_id, user.id):
        return False
    audit.record(db, actor, "api_token.revoked", target_type="api_token", target_id=token_id)
    return True
