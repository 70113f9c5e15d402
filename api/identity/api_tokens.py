"""API access for integrators: personal API tokens and JWT access/refresh pairs.

Personal tokens (`cmk_…`) are shown once, stored as SHA-256, carry scopes, record their last use
and can be revoked. JWT access tokens live minutes and carry the scopes; refresh tokens rotate
on every use, and presenting one that was already replaced revokes its whole family (it leaked).
Whatever the token says, a request never gets more than the user's roles grant today.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from api import audit
from api.audit import Actor
from api.identity import roles
from api.identity.keys import random_token, sha256_hex
from db.models import ApiToken, RefreshToken, User, UserStatus

PERSONAL_PREFIX = "cmk_"
JWT_ALGORITHM = "HS256"
JWT_AUDIENCE = "cloudmanager-api"
# last_used_at is written at most once a minute per token.
LAST_USED_RESOLUTION = timedelta(seconds=60)


class TokenRefused(Exception):
    pass


@dataclass(frozen=True)
class BearerIdentity:
    user: User
    permissions: frozenset[str]
    token_id: str


async def create_personal_token(
    db: AsyncSession, user: User, name: str, scopes: frozenset[str], expires_at: datetime | None
) -> tuple[str, ApiToken]:
    granted, _ = await roles.permissions_of(db, user.id)
    secret = PERSONAL_PREFIX + random_token()
    record = ApiToken(
        user_id=user.id,
        name=name[:100],
        prefix=secret[:12],
        token_hash=sha256_hex(secret),
        scopes=sorted(scopes & granted),
        expires_at=expires_at,
    )
    db.add(record)
    await db.flush()
    return secret, record


async def revoke_personal_token(db: AsyncSession, token_id: uuid.UUID, user_id: uuid.UUID) -> bool:
    result = await db.execute(
        update(ApiToken)
        .where(ApiToken.id == token_id, ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=func.now())
    )
    return result.rowcount == 1


async def personal_tokens(db: AsyncSession, user_id: uuid.UUID) -> list[ApiToken]:
    rows = await db.scalars(
        select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.created_at.desc())
    )
    return list(rows)


async def _user_permissions(db: AsyncSession, user_id: uuid.UUID) -> tuple[User, frozenset[str]]:
    user = await db.get(User, user_id)
    if user is None or user.status != UserStatus.ACTIVE:
        raise TokenRefused("account not active")
    granted, _ = await roles.permissions_of(db, user.id)
    return user, granted


async def resolve_bearer(db: AsyncSession, secret_key: str, bearer: str) -> BearerIdentity:
    if bearer.startswith(PERSONAL_PREFIX):
        record = await db.scalar(
            select(ApiToken).where(
                ApiToken.token_hash == sha256_hex(bearer),
                ApiToken.revoked_at.is_(None),
                (ApiToken.expires_at.is_(None)) | (ApiToken.expires_at > func.now()),
            )
        )
        if record is None:
            raise TokenRefused("unknown, expired or revoked token")
        user, granted = await _user_permissions(db, record.user_id)
        await db.execute(
            update(ApiToken)
            .where(
                ApiToken.id == record.id,
                (ApiToken.last_used_at.is_(None))
                | (ApiToken.last_used_at < func.now() - LAST_USED_RESOLUTION),
            )
            .values(last_used_at=func.now())
        )
        return BearerIdentity(user, frozenset(record.scopes) & granted, f"token:{record.id}")
    try:
        claims = jwt.decode(bearer, secret_key, algorithms=[JWT_ALGORITHM], audience=JWT_AUDIENCE)
    except jwt.PyJWTError as invalid:
        raise TokenRefused(str(invalid)) from invalid
    if claims.get("typ") != "access":
        raise TokenRefused("not an access token")
    user, granted = await _user_permissions(db, uuid.UUID(claims["sub"]))
    return BearerIdentity(
        user, frozenset(claims.get("scopes", ())) & granted, f"jwt:{claims['jti']}"
    )


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int


async def issue_pair(
    db: AsyncSession, secret_key: str, user: User, scopes: frozenset[str],
    access_lifetime: timedelta, refresh_lifetime: timedelta, family_id: uuid.UUID | None = None,
) -> TokenPair:  # fmt: skip
    granted, _ = await roles.permissions_of(db, user.id)
    scopes = scopes & granted
    now = datetime.now(UTC)
    refresh = RefreshToken(
        jti=uuid.uuid4(),
        family_id=family_id or uuid.uuid4(),
        user_id=user.id,
        scopes=sorted(scopes),
        expires_at=now + refresh_lifetime,
    )
    db.add(refresh)
    await db.flush()
    common = {"sub": str(user.id), "aud": JWT_AUDIENCE, "iat": now, "scopes": sorted(scopes)}
    access = jwt.encode(
        {**common, "typ": "access", "jti": str(uuid.uuid4()), "exp": now + access_lifetime},
        secret_key,
        algorithm=JWT_ALGORITHM,
    )
    refresh_jwt = jwt.encode(
        {**common, "typ": "refresh", "jti": str(refresh.jti), "exp": refresh.expires_at},
        secret_key,
        algorithm=JWT_ALGORITHM,
    )
    return TokenPair(access, refresh_jwt, int(access_lifetime.total_seconds()))


async def rotate(
    db: AsyncSession, secret_key: str, refresh_jwt: str,
    access_lifetime: timedelta, refresh_lifetime: timedelta,
) -> TokenPair:  # fmt: skip
    try:
        claims = jwt.decode(
            refresh_jwt, secret_key, algorithms=[JWT_ALGORITHM], audience=JWT_AUDIENCE
        )
    except jwt.PyJWTError as invalid:
        raise TokenRefused(str(invalid)) from invalid
    if claims.get("typ") != "refresh":
        raise TokenRefused("not a refresh token")
    jti = uuid.UUID(claims["jti"])
    # Replace atomically: of two concurrent refreshes with the same token, one wins.
    family = await db.scalar(
        update(RefreshToken)
        .where(
            RefreshToken.jti == jti,
            RefreshToken.replaced_at.is_(None),
            RefreshToken.revoked_at.is_(None),
            RefreshToken.expires_at > func.now(),
        )
        .values(replaced_at=func.now())
        .returning(RefreshToken.family_id)
    )
    if family is None:
        reused = await db.get(RefreshToken, jti)
        if reused is not None:
            await revoke_family(db, reused.family_id)
            # A replaced token presented again means it leaked: on the user's record.
            audit.record(
                db, Actor(reused.user_id, "api"), "auth.refresh_token_reused",
                target_type="user", target_id=reused.user_id,
                after={"family": str(reused.family_id)},
            )  # fmt: skip
        raise TokenRefused("refresh token already used, revoked or expired")
    user, _ = await _user_permissions(db, uuid.UUID(claims["sub"]))
    return await issue_pair(
        db, secret_key, user, frozenset(claims.get("scopes", ())), access_lifetime,
        refresh_lifetime, family_id=family,
    )  # fmt: skip


async def revoke_family(db: AsyncSession, family_id: uuid.UUID) -> None:
    await db.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=func.now())
    )


async def revoke_refresh(db: AsyncSession, secret_key: str, refresh_jwt: str) -> None:
    try:
        claims = jwt.decode(
            refresh_jwt, secret_key, algorithms=[JWT_ALGORITHM], audience=JWT_AUDIENCE
        )
    except jwt.PyJWTError as invalid:
        raise TokenRefused(str(invalid)) from invalid
    record = await db.get(RefreshToken, uuid.UUID(claims["jti"]))
    if record is not None:
        await revoke_family(db, record.family_id)
