"""Authentication for API clients: JWT access + refresh tokens, and who the caller is.

Integrators either create a personal API token (`cmk_…`) in their account pages, or exchange
their email and password (plus a 2FA code) for a short-lived access token and a refresh token
here. Both are sent as `Authorization: Bearer …`. Every error is a problem+json body.
"""

from __future__ import annotations

import math
import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

import jwt
from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.security import HTTPBearer
from pydantic import BaseModel, ConfigDict, Field

from api import audit
from api.access import CurrentPrincipal, public
from api.identity import accounts, api_tokens
from api.identity.accounts import SignIn
from api.identity.api_tokens import TokenPair, TokenRefused
from api.permissions import ALL_PERMISSIONS
from api.routes.deps import SessionDep, SettingsDep, actor_of
from api.routes.problems import problem_responses
from api.settings import Settings

router = APIRouter(tags=["auth"])
PUBLIC = [Depends(public)]
BEARER_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="cloudmanager"'}
# Documents the bearer scheme in OpenAPI (Swagger's "Authorize" button); web.auth does the work.
BEARER_SCHEME = HTTPBearer(
    auto_error=False,
    description="A personal API token (`cmk_…`, made in your account pages) or an access token "
    "from POST /api/v1/auth/token.",
)

Scope = Annotated[str, Field(max_length=50, examples=["tickets.view"])]


class TokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(max_length=320, examples=["integrations@example.dz"])
    password: str = Field(max_length=1024)
    totp_code: str | None = Field(
        None,
        max_length=32,
        description="Required when the account has two-step verification: the 6-digit code of "
        "the authenticator app, or one of the backup codes. Each code works once.",
        examples=["123456"],
    )
    scopes: list[Scope] | None = Field(
        None,
        max_length=100,
        description="Permissions to put in the tokens, among the account's own (see GET /me). "
        "Omitted: all of them. Permissions the account does not have are left out.",
        examples=[["tickets.view", "tickets.create"]],
    )


class RefreshRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    refresh_token: str = Field(max_length=4096)


class TokenResponse(BaseModel):
    access_token: str = Field(description="JWT to send as `Authorization: Bearer …`.")
    refresh_token: str = Field(
        description="Single-use: exchange it at POST /auth/refresh for a new pair. Presenting "
        "it a second time revokes every token of its family."
    )
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105 (the scheme, not a secret)
    expires_in: int = Field(description="Lifetime of the access token, in seconds.")
    scopes: list[str] = Field(description="The permissions the tokens carry, sorted.")


class CurrentUser(BaseModel):
    id: uuid.UUID
    email: str
    full_name: str
    kind: Literal["staff", "customer"]
    customer_id: uuid.UUID | None = Field(description="The customer account of a customer user.")
    permissions: list[str] = Field(
        description="What this request may do: the roles' permissions, limited to the token's "
        "scopes. Sorted."
    )


def _lifetimes(settings: Settings) -> tuple[timedelta, timedelta]:
    return timedelta(minutes=settings.access_token_minutes), timedelta(
        days=settings.refresh_token_days
    )


def _response(pair: TokenPair, secret: str) -> TokenResponse:
    claims = jwt.decode(
        pair.access_token, secret, algorithms=[api_tokens.JWT_ALGORITHM],
        audience=api_tokens.JWT_AUDIENCE,
    )  # fmt: skip
    return TokenResponse(
        access_token=pair.access_token,
        refresh_token=pair.refresh_token,
        expires_in=pair.expires_in,
        scopes=sorted(claims.get("scopes", ())),
    )


def _refused(detail: str) -> HTTPException:
    return HTTPException(status_code=401, detail=detail, headers=BEARER_CHALLENGE)


@router.post(
    "/auth/token",
    dependencies=PUBLIC,
    response_model=TokenResponse,
    summary="Exchange email and password (and a 2FA code) for tokens",
    description="Returns a short-lived access token and a refresh token. Failed attempts count "
    "against the same per-account and per-address limits as the web sign-in; past them, the "
    "answer is 429 until the lockout ends. Accounts whose role requires two-step verification "
    "must have set it up in the web app first.",
    responses=problem_responses(401, 403, 422, 429),
)
async def issue_tokens(
    body: TokenRequest, request: Request, db: SessionDep, settings: SettingsDep
) -> TokenResponse:
    unknown = sorted(set(body.scopes or ()) - ALL_PERMISSIONS)
    if unknown:
        raise HTTPException(status_code=422, detail=f"Unknown scopes: {', '.join(unknown)}.")
    async with db.begin():
        result = await accounts.sign_in_for_api(
            db, settings, body.email, body.password, body.totp_code, actor_of(request)
        )
        if result.outcome == SignIn.SIGNED_IN:
            wanted = frozenset(body.scopes) if body.scopes is not None else ALL_PERMISSIONS
            pair = await api_tokens.issue_pair(
                db, settings.secret, result.user, wanted, *_lifetimes(settings)
            )
    match result.outcome:
        case SignIn.SIGNED_IN:
            return _response(pair, settings.secret)
        case SignIn.LOCKED:
            seconds = (result.locked_until - datetime.now(UTC)).total_seconds()
            raise HTTPException(
                status_code=429,
                detail="Too many failed attempts. Try again after "
                f"{result.locked_until.astimezone(UTC).isoformat(timespec='seconds')}.",
                headers={"Retry-After": str(max(1, math.ceil(seconds)))},
            )
        case SignIn.SECOND_FACTOR:
            raise _refused(
                "This account uses two-step verification: send the code of the authenticator "
                "app (or a backup code) as totp_code."
            )
        case SignIn.UNVERIFIED:
            raise HTTPException(
                status_code=403, detail="Confirm the account's email address first."
            )
        case SignIn.SETUP_SECOND_FACTOR:
            raise HTTPException(
                status_code=403,
                detail="This account's role requires two-step verification: sign in to the "
                "web app once to set it up.",
            )
        case _:
            raise _refused("Email, password or code is not correct.")


@router.post(
    "/auth/refresh",
    dependencies=PUBLIC,
    response_model=TokenResponse,
    summary="Exchange a refresh token for a new pair",
    description="The refresh token is single-use. Presenting one that was already exchanged "
    "means it leaked: the answer is 401 and every token of its family is revoked, the newest "
    "included.",
    responses=problem_responses(401, 422),
)
async def refresh_tokens(
    body: RefreshRequest, db: SessionDep, settings: SettingsDep
) -> TokenResponse:
    refused: TokenRefused | None = None
    async with db.begin():  # committed even when refused: a reuse revokes the family
        try:
            pair = await api_tokens.rotate(
                db, settings.secret, body.refresh_token, *_lifetimes(settings)
            )
        except TokenRefused as error:
            refused = error
    if refused is not None:
        raise _refused(f"The refresh token was refused: {refused}.")
    return _response(pair, settings.secret)


@router.post(
    "/auth/revoke",
    dependencies=PUBLIC,
    status_code=204,
    summary="Revoke a refresh token and its family",
    description="Signs an API client out: the refresh token, and every token obtained by "
    "refreshing it, stop working. Access tokens already issued expire on their own within "
    "minutes. Answers 204 whatever the token (RFC 7009), so it reveals nothing.",
    responses=problem_responses(422),
)
async def revoke_tokens(
    body: RefreshRequest, request: Request, db: SessionDep, settings: SettingsDep
) -> Response:
    async with db.begin():
        try:
            await api_tokens.revoke_refresh(db, settings.secret, body.refresh_token)
        except TokenRefused:
            pass
        else:
            claims = jwt.decode(
                body.refresh_token, settings.secret, algorithms=[api_tokens.JWT_ALGORITHM],
                audience=api_tokens.JWT_AUDIENCE,
            )  # fmt: skip
            audit.record(
                db, actor_of(request), "auth.refresh_revoked", target_type="user",
                target_id=claims["sub"],
            )  # fmt: skip
    return Response(status_code=204)


@router.get(
    "/me",
    dependencies=[Depends(BEARER_SCHEME)],
    response_model=CurrentUser,
    summary="Who the caller is, and what the request may do",
    responses=problem_responses(401),
)
async def me(principal: CurrentPrincipal) -> CurrentUser:
    user = principal.user
    return CurrentUser(
        id=user.id,
        email=user.email,
        full_name=user.full_name,
        kind=user.kind.value,
        customer_id=user.customer_id,
        permissions=sorted(principal.permissions),
    )
