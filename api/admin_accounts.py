"""The first administrator, created from the command line."""

from __future__ import annotations

from sqlalchemy import func, select

from api import audit
from api.audit import SYSTEM
from api.identity import passwords, roles
from api.identity.accounts import InputError, normalise_email, user_by_email
from api.settings import Settings
from db.models import User, UserKind, UserStatus
from db.session import create_engine, create_sessionmaker
from i18n import localise


class AdminCreationError(Exception):
    pass


async def create_first_admin(settings: Settings, email: str, full_name: str, password: str) -> User:
    try:
        address = normalise_email(email)
    except InputError as invalid:
        raise AdminCreationError("not a valid email address") from invalid
    problem = passwords.password_problem(password, email=address, names=(full_name,))
    if problem:
        raise AdminCreationError(localise("en", problem.message, **problem.variables))
    engine = create_engine(settings.sqlalchemy_url, pool_size=1)
    try:
        async with create_sessionmaker(engine)() as db, db.begin():
            if await user_by_email(db, address) is not None:
                raise AdminCreationError(f"{address} already has an account")
            user = User(
                email=address,
                full_name=" ".join(full_name.split())[:200],
                kind=UserKind.STAFF,
                status=UserStatus.ACTIVE,
                locale=settings.default_locale,
                time_zone=settings.time_zone,
                password_hash=await passwords.hash_password(password),
                email_verified_at=await db.scalar(select(func.now())),
            )
            db.add(user)
            await db.flush()
            admin_role = await roles.role_by_key(db, "admin")
            await roles.assign_roles(db, user.id, [admin_role.id])
            audit.record(
                db, SYSTEM, "user.created", target_type="user", target_id=user.id,
                after={"email": address, "roles": ["admin"], "via": "create-admin"},
            )  # fmt: skip
            return user
    finally:
        await engine.dispose()
