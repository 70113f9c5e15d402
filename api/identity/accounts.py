"""Accounts: registration, email verification, sign-in in one or two steps, passwords.

Every function takes the database session of the caller's transaction and writes its audit rows
in it; the caller commits, then sends the emails these functions asked for (after the commit, so
a link never arrives for a record that was rolled back).
"""

from __future__ import annotations

import enum
import unicodedata
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from api import audit
from api.audit import Actor
from api.email import Outgoing
from api.identity import one_time_tokens, passwords, roles, sessions, throttle, totp
from api.identity.passwords import PasswordProblem
from api.settings import Settings
from db.models import (
    BackupCode,
    Customer,
    CustomerKind,
    CustomerStatus,
    OneTimeTokenPurpose,
    Session,
    User,
    UserKind,
    UserStatus,
)
from i18n import N_

MAX_NAME_LENGTH = 200


class InputError(ValueError):
    """Bad input, per field: {field: (msgid, variables)}. Nothing was written."""

    def __init__(self, errors: dict[str, tuple[str, dict[str, object]]]) -> None:
        super().__init__(", ".join(errors))
        self.errors = errors


def normalise_email(raw: str) -> str:
    try:
        return validate_email(raw.strip(), check_deliverability=False).normalized
    except EmailNotValidError as invalid:
        raise InputError({"email": (N_("Enter a valid email address."), {})}) from invalid


MAX_COMBINING_RUN = 3


def _disguised(value: str) -> bool:
    """Characters that make a name look like something else in a list: controls, invisible
    format characters (bidi overrides, zero-width joiners), piles of combining marks."""
    run = 0
    for character in value:
        category = unicodedata.category(character)
        if category in ("Cc", "Cf", "Co", "Cs"):
            return True
        run = run + 1 if category.startswith("M") else 0
        if run > MAX_COMBINING_RUN:
            return True
    return not any(unicodedata.category(character).startswith("L") for character in value)


def clean_name(raw: str, field_name: str, errors: dict) -> str:
    value = unicodedata.normalize("NFC", " ".join(raw.split()))
    if not value:
        errors[field_name] = (N_("This field is required."), {})
    elif _disguised(value):
        errors[field_name] = (N_("This field contains characters that are not allowed."), {})
    elif len(value) > MAX_NAME_LENGTH:
        errors[field_name] = (N_("Use at most %(count)s characters."), {"count": MAX_NAME_LENGTH})
    return value


def _password_errors(problem: PasswordProblem | None) -> dict:
    return {"password": (problem.message, problem.variables)} if problem else {}


async def user_by_email(db: AsyncSession, email: str) -> User | None:
    address = email.strip().lower()
    if "\x00" in address or len(address) > 320:
        return None  # PostgreSQL text cannot hold NUL; no address of ours is that long
    return await db.scalar(select(User).where(func.lower(User.email) == address))


# -- registration and verification -------------------------------------------------------------


@dataclass
class Registration:
    kind: CustomerKind
    company_name: str
    full_name: str
    email: str
    password: str
    locale: str


async def register_customer(
    db: AsyncSession, settings: Settings, form: Registration, actor: Actor
) -> list[Outgoing]:
    """A new customer account and its owner, unverified. The answer is the same whether or not
    the address already has an account (its owner gets a notice instead of a second account)."""
    errors: dict = {}
    try:
        if len(form.email) > 320:
            raise InputError({"email": (N_("Use at most %(count)s characters."), {"count": 320})})
        email = normalise_email(form.email)
    except InputError as invalid:
        errors.update(invalid.errors)
        email = form.email
    full_name = clean_name(form.full_name, "full_name", errors)
    company_name = (
        clean_name(form.company_name, "company_name", errors)
        if form.kind == CustomerKind.COMPANY
        else full_name
    )
    errors.update(
        _password_errors(
            passwords.password_problem(form.password, email=email, names=(full_name, company_name))
        )
    )
    if errors:
        raise InputError(errors)

    existing = await user_by_email(db, email)
    if existing is not None:
        audit.record(
            db, actor, "account.register_existing", target_type="user", target_id=existing.id
        )
        return [
            Outgoing(
                "account_exists", existing.email, existing.locale,
                {"name": existing.full_name, "login_url": f"{settings.base_url}/login",
                 "reset_url": f"{settings.base_url}/forgot-password"},
                f"account-exists:{existing.id}:{uuid.uuid4()}",
            )
        ]  # fmt: skip

    customer = Customer(kind=form.kind, name=company_name, status=CustomerStatus.PROSPECT)
    db.add(customer)
    await db.flush()
    user = User(
        email=email,
        full_name=full_name,
        kind=UserKind.CUSTOMER,
        customer_id=customer.id,
        status=UserStatus.ACTIVE,
        locale=form.locale,
        time_zone=settings.time_zone,
        password_hash=await passwords.hash_password(form.password),
    )
    db.add(user)
    await db.flush()
    owner = await roles.role_by_key(db, "customer_owner")
    await roles.assign_roles(db, user.id, [owner.id])
    audit.record(
        db, actor, "account.registered", target_type="user", target_id=user.id,
        after={"email": email, "customer": str(customer.id), "kind": form.kind.value},
    )  # fmt: skip
    return [await verification_email(db, settings, user)]


async def verification_email(db: AsyncSession, settings: Settings, user: User) -> Outgoing:
    token = await one_time_tokens.issue(db, user.id, OneTimeTokenPurpose.VERIFY_EMAIL)
    return Outgoing(
        "verify_email", user.email, user.locale,
        {"name": user.full_name, "verify_url": f"{settings.base_url}/verify-email?token={token}"},
        f"verify-email:{user.id}:{token[:16]}",
    )  # fmt: skip


async def verify_email(
    db: AsyncSession, settings: Settings, token: str, actor: Actor
) -> User | None:
    ip = throttle.ip_key(actor.ip)
    if await throttle.locked_until(db, [ip]):
        return None
    user_id = await one_time_tokens.consume(db, token, OneTimeTokenPurpose.VERIFY_EMAIL)
    if user_id is None:
        await throttle.record_failure(db, ip, settings.throttle_policy("ip"))
        return None
    user = await db.get_one(User, user_id)
    if user.email_verified_at is None:
        user.email_verified_at = await db.scalar(select(func.now()))
    audit.record(db, actor, "account.email_verified", target_type="user", target_id=user.id)
    return user


# -- sign-in -------------------------------------------------------------------------------------


class SignIn(enum.StrEnum):
    SIGNED_IN = "signed_in"
    SECOND_FACTOR = "second_factor"  # password right; a code is due before anything is granted
    SETUP_SECOND_FACTOR = "setup_second_factor"  # a role demands 2FA the user has not set up
    UNVERIFIED = "unverified"
    INVALID = "invalid"
    LOCKED = "locked"


@dataclass
class SignInResult:
    outcome: SignIn
    user: User | None = None
    session_token: str | None = None
    locked_until: datetime | None = None
    outgoing: list[Outgoing] = field(default_factory=list)


def _throttle_keys(email: str, actor: Actor) -> list[str]:
    return [throttle.account_key(email), throttle.ip_key(actor.ip)]


async def _fail(
    db: AsyncSession, settings: Settings, keys: list[str], actor: Actor, reason: str,
    user: User | None, attempted: str, action: str = "auth.login_failed",
) -> SignInResult:  # fmt: skip
    account_lock = await throttle.record_failure(db, keys[0], settings.throttle_policy("account"))
    ip_lock = await throttle.record_failure(db, keys[1], settings.throttle_policy("ip"))
    audit.record(
        db, actor, action, target_type="user", target_id=user.id if user else "",
        after={"reason": reason, "email": attempted[:320]},
    )  # fmt: skip
    locked = max((lock for lock in (account_lock, ip_lock) if lock), default=None)
    if locked:
        return SignInResult(SignIn.LOCKED, locked_until=locked)
    return SignInResult(SignIn.INVALID)


async def _check_password(
    db: AsyncSession, settings: Settings, attempted: str, password: str, keys: list[str],
    actor: Actor,
) -> User | SignInResult:  # fmt: skip
    """The first step of every sign-in (web and API): throttle, account, password, status.
    The active user whose password matched, or the refusal (already counted and audited)."""
    locked = await throttle.locked_until(db, keys)
    if locked:
        audit.record(
            db, actor, "auth.login_refused", after={"reason": "locked", "email": attempted[:320]}
        )
        return SignInResult(SignIn.LOCKED, locked_until=locked)

    user = await user_by_email(db, attempted)
    matches, new_hash = await passwords.verify_password(
        user.password_hash if user else None, password
    )
    if user is None:
        return await _fail(db, settings, keys, actor, "unknown_account", None, attempted)
    if not matches:
        return await _fail(db, settings, keys, actor, "bad_password", user, attempted)
    if user.status != UserStatus.ACTIVE:
        return await _fail(
            db, settings, keys, actor, f"status_{user.status.value}", user, attempted
        )
    if new_hash:
        user.password_hash = new_hash
    return user


async def sign_in(
    db: AsyncSession, settings: Settings, email: str, password: str, actor: Actor
) -> SignInResult:
    attempted = email.strip()
    keys = _throttle_keys(attempted, actor)
    checked = await _check_password(db, settings, attempted, password, keys, actor)
    if isinstance(checked, SignInResult):
        return checked
    user = checked
    if user.email_verified_at is None:
        audit.record(db, actor, "auth.login_unverified", target_type="user", target_id=user.id)
        return SignInResult(
            SignIn.UNVERIFIED, user=user, outgoing=[await verification_email(db, settings, user)]
        )

    await throttle.clear(db, keys[:1])
    _, role_requires_2fa = await roles.permissions_of(db, user.id)
    if user.two_factor_enabled:
        outcome = SignIn.SECOND_FACTOR
    elif role_requires_2fa:
        outcome = SignIn.SETUP_SECOND_FACTOR
    else:
        outcome = SignIn.SIGNED_IN
    token, _ = await sessions.open_session(
        db, user, settings.session_policy, pending_second_factor=outcome != SignIn.SIGNED_IN,
        ip=actor.ip, user_agent=actor.user_agent,
    )  # fmt: skip
    action = "auth.login" if outcome == SignIn.SIGNED_IN else "auth.login_password_ok"
    audit.record(db, _as(user, actor), action, target_type="user", target_id=user.id)
    return SignInResult(outcome, user=user, session_token=token)


def _as(user: User, actor: Actor) -> Actor:
    return Actor(user.id, user.email, actor.ip, actor.user_agent)


async def sign_in_for_api(
    db: AsyncSession, settings: Settings, email: str, password: str, totp_code: str | None,
    actor: Actor,
) -> SignInResult:  # fmt: skip
    """One step for API clients: the password and, when the account has 2FA, a code (single-use,
    TOTP or backup) in the same request. Same throttle and audit as the web sign-in; SIGNED_IN
    means the caller may issue tokens, no session is opened."""
    attempted = email.strip()
    keys = _throttle_keys(attempted, actor)
    checked = await _check_password(db, settings, attempted, password, keys, actor)
    if isinstance(checked, SignInResult):
        return checked
    user = checked
    if user.email_verified_at is None:
        audit.record(db, actor, "auth.login_unverified", target_type="user", target_id=user.id)
        return SignInResult(SignIn.UNVERIFIED, user=user)
    _, role_requires_2fa = await roles.permissions_of(db, user.id)
    if user.two_factor_enabled:
        if not totp_code:
            # The password was right, but nothing is granted without the second factor.
            audit.record(
                db, _as(user, actor), "auth.login_password_ok", target_type="user",
                target_id=user.id, after={"via": "api"},
            )  # fmt: skip
            return SignInResult(SignIn.SECOND_FACTOR, user=user)
        if not await verify_second_factor(db, settings, user, totp_code):
            return await _fail(
                db, settings, keys, actor, "bad_second_factor", user, attempted,
                action="auth.second_factor_failed",
            )  # fmt: skip
    elif role_requires_2fa:
        audit.record(
            db, _as(user, actor), "auth.login_refused", target_type="user", target_id=user.id,
            after={"reason": "second_factor_setup_required", "via": "api"},
        )  # fmt: skip
        return SignInResult(SignIn.SETUP_SECOND_FACTOR, user=user)
    await throttle.clear(db, keys[:1])
    audit.record(
        db, _as(user, actor), "auth.api_login", target_type="user", target_id=user.id,
        after={"via": "api"},
    )  # fmt: skip
    return SignInResult(SignIn.SIGNED_IN, user=user)


async def complete_second_factor(
    db: AsyncSession, settings: Settings, pending: Session, user: User, code: str, actor: Actor
) -> SignInResult:
    """Second step: a TOTP code (single-use per time step) or a backup code. Success replaces
    the pending session with a new one (a new id); failure counts like a bad password."""
    keys = _throttle_keys(user.email, actor)
    locked = await throttle.locked_until(db, keys)
    if locked:
        return SignInResult(SignIn.LOCKED, locked_until=locked)
    if not await verify_second_factor(db, settings, user, code):
        return await _fail(
            db, settings, keys, actor, "bad_second_factor", user, user.email,
            action="auth.second_factor_failed",
        )  # fmt: skip
    await throttle.clear(db, keys[:1])
    return await promote_session(db, settings, pending, user, actor, "auth.login")


async def verify_second_factor(db: AsyncSession, settings: Settings, user: User, code: str) -> bool:
    if not user.totp_secret_encrypted:
        return False
    secret = totp.decrypt_secret(settings.secret, user.totp_secret_encrypted)
    step = totp.matching_step(secret, code)
    if step is not None:
        return await totp.consume_step(db, user.id, step)
    return await totp.consume_backup_code(db, settings.secret, user.id, code)


async def promote_session(
    db: AsyncSession, settings: Settings, pending: Session, user: User, actor: Actor, action: str
) -> SignInResult:
    await db.execute(update(Session).where(Session.id == pending.id).values(revoked_at=func.now()))
    token, _ = await sessions.open_session(
        db, user, settings.session_policy, pending_second_factor=False,
        ip=actor.ip, user_agent=actor.user_agent,
    )  # fmt: skip
    audit.record(db, _as(user, actor), action, target_type="user", target_id=user.id)
    return SignInResult(SignIn.SIGNED_IN, user=user, session_token=token)


# -- passwords -----------------------------------------------------------------------------------


async def change_password(
    db: AsyncSession, settings: Settings, user: User, current: str, new: str,
    current_session: uuid.UUID, actor: Actor,
) -> None:  # fmt: skip
    """Requires the current password; every other session of the user ends."""
    matches, _ = await passwords.verify_password(user.password_hash, current)
    if not matches:
        await throttle.record_failure(
            db, throttle.account_key(user.email), settings.throttle_policy("account")
        )
        raise InputError({"current_password": (N_("Your current password is not correct."), {})})
    customer_name = await _customer_name(db, user)
    problem = passwords.password_problem(
        new, email=user.email, names=(user.full_name, customer_name)
    )
    if problem:
        raise InputError({"new_password": (problem.message, problem.variables)})
    user.password_hash = await passwords.hash_password(new)
    ended = await sessions.revoke_all_sessions(db, user.id, except_session=current_session)
    audit.record(
        db, actor, "auth.password_changed", target_type="user", target_id=user.id,
        after={"other_sessions_ended": ended},
    )  # fmt: skip


async def _customer_name(db: AsyncSession, user: User) -> str:
    if user.customer_id is None:
        return ""
    return await db.scalar(select(Customer.name).where(Customer.id == user.customer_id)) or ""


async def request_password_reset(
    db: AsyncSession, settings: Settings, email: str, actor: Actor
) -> list[Outgoing]:
    """Sends a link when the account exists; the caller answers the same either way. Requests
    are counted under their own keys (per address and per IP), so a burst of them limits reset
    mail without locking anybody out of signing in."""
    keys = [f"reset-{throttle.account_key(email)}", f"reset-{throttle.ip_key(actor.ip)}"]
    if await throttle.locked_until(db, [*keys, throttle.ip_key(actor.ip)]):
        audit.record(db, actor, "auth.password_reset_refused", after={"reason": "locked"})
        return []
    await throttle.record_failure(db, keys[0], settings.throttle_policy("account"))
    await throttle.record_failure(db, keys[1], settings.throttle_policy("ip"))
    user = await user_by_email(db, email)
    audit.record(
        db, actor, "auth.password_reset_requested", target_type="user",
        target_id=user.id if user else "", after={"email": email.strip()[:320]},
    )  # fmt: skip
    if user is None or user.status != UserStatus.ACTIVE:
        return []
    token = await one_time_tokens.issue(db, user.id, OneTimeTokenPurpose.RESET_PASSWORD)
    reset_url = f"{settings.base_url}/reset-password?token={token}"
    return [
        Outgoing(
            "reset_password", user.email, user.locale,
            {"name": user.full_name, "reset_url": reset_url},
            f"reset-password:{user.id}:{token[:16]}",
        )
    ]  # fmt: skip


async def reset_password(
    db: AsyncSession, settings: Settings, token: str, new: str, actor: Actor
) -> User | None:
    """None for an unknown, used or expired token (one answer for all three)."""
    user_id = await one_time_tokens.owner(db, token, OneTimeTokenPurpose.RESET_PASSWORD)
    if user_id is None:
        await throttle.record_failure(db, throttle.ip_key(actor.ip), settings.throttle_policy("ip"))
        return None
    user = await db.get_one(User, user_id)
    problem = passwords.password_problem(
        new, email=user.email, names=(user.full_name, await _customer_name(db, user))
    )
    if problem:
        raise InputError({"password": (problem.message, problem.variables)})
    if await one_time_tokens.consume(db, token, OneTimeTokenPurpose.RESET_PASSWORD) is None:
        return None  # a concurrent reset used it first
    user.password_hash = await passwords.hash_password(new)
    if user.email_verified_at is None:
        user.email_verified_at = await db.scalar(select(func.now()))  # the link proved the address
    await sessions.revoke_all_sessions(db, user.id)
    await throttle.clear(db, [throttle.account_key(user.email)])
    audit.record(db, _as(user, actor), "auth.password_reset", target_type="user", target_id=user.id)
    return user


# -- second factor -------------------------------------------------------------------------------


async def enable_two_factor(
    db: AsyncSession, settings: Settings, user: User, secret: str, code: str, actor: Actor
) -> list[str] | None:
    """Confirm a new TOTP secret with a first code; returns the backup codes (shown once), or
    None when the code does not match the secret."""
    step = totp.matching_step(secret, code)
    if step is None or not secret.isalnum() or len(secret) > 64:
        audit.record(db, actor, "auth.2fa_setup_failed", target_type="user", target_id=user.id)
        return None
    user.totp_secret_encrypted = totp.encrypt_secret(settings.secret, secret)
    user.totp_enabled_at = await db.scalar(select(func.now()))
    user.totp_last_step = step  # the confirming code is spent
    codes = await totp.regenerate_backup_codes(db, settings.secret, user.id)
    audit.record(db, actor, "auth.2fa_enabled", target_type="user", target_id=user.id)
    return codes


async def disable_two_factor(
    db: AsyncSession, settings: Settings, user: User, password: str, code: str, actor: Actor
) -> None:
    """Needs the password and a current code (or a backup code)."""
    matches, _ = await passwords.verify_password(user.password_hash, password)
    if not matches:
        raise InputError({"password": (N_("Your password is not correct."), {})})
    if not await verify_second_factor(db, settings, user, code):
        raise InputError({"code": (N_("That code is not valid."), {})})
    user.totp_secret_encrypted = None
    user.totp_enabled_at = None
    await db.execute(delete(BackupCode).where(BackupCode.user_id == user.id))
    audit.record(db, actor, "auth.2fa_disabled", target_type="user", target_id=user.id)


async def regenerate_backup_codes(
    db: AsyncSession, settings: Settings, user: User, actor: Actor
) -> list[str]:
    codes = await totp.regenerate_backup_codes(db, settings.secret, user.id)
    audit.record(db, actor, "auth.backup_codes_regenerated", target_type="user", target_id=user.id)
    return codes
