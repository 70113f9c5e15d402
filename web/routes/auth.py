"""Sign-in (one or two steps), sign-out, registration, email verification, password reset."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from api import audit
from api.access import public, second_factor_pending
from api.email import send_outgoing
from api.identity import accounts, one_time_tokens, sessions, totp
from api.identity.accounts import InputError, Registration, SignIn
from api.routes.deps import SessionDep, SettingsDep, TemporalDep, actor_of
from db.models import CustomerKind, OneTimeTokenPurpose, UserKind
from web.auth import clear_session_cookie, pending_sign_in, set_session_cookie
from web.routes.home import local_path
from web.templating import locale_of, render, translate

router = APIRouter(include_in_schema=False)

Text = Annotated[str, Form(max_length=320)]
Password = Annotated[str, Form(max_length=1024)]


def _errors(request: Request, problem: InputError) -> dict[str, str]:
    return {
        name: translate(request, message, **variables)
        for name, (message, variables) in problem.errors.items()
    }


def _home_for(user) -> str:
    return "/staff" if user.kind == UserKind.STAFF else "/portal"


# -- sign-in -------------------------------------------------------------------------------------


@router.get("/login", dependencies=[Depends(public)])
async def login_form(request: Request, next: str = "") -> Response:
    if request.state.principal is not None:
        return RedirectResponse(local_path(next) if next else _home_for(request.state.user), 303)
    return render(request, "auth/login.html", {"form": {"email": "", "next": next}})


@router.post("/login", dependencies=[Depends(public)])
async def login(
    request: Request,
    db: SessionDep,
    settings: SettingsDep,
    temporal: TemporalDep,
    email: Text = "",
    password: Password = "",
    next: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    async with db.begin():
        # Signing in again replaces whatever session this browser held (complete or pending).
        held = _held_session(request)
        if held is not None:
            await sessions.revoke_session(db, held.id, user_id=None)
        result = await accounts.sign_in(db, settings, email, password, actor_of(request))
    await send_outgoing(temporal, settings, result.outgoing)
    form = {"email": email, "next": next}
    if result.outcome in (SignIn.INVALID, SignIn.LOCKED, SignIn.UNVERIFIED):
        return render(
            request,
            "auth/login.html",
            {"form": form, "outcome": result.outcome.value, "locked_until": result.locked_until},
            status_code=429 if result.outcome == SignIn.LOCKED else 401,
        )
    target = local_path(next) if next else _home_for(result.user)
    if result.outcome == SignIn.SECOND_FACTOR:
        target = f"/login/second-factor?next={target}"
    elif result.outcome == SignIn.SETUP_SECOND_FACTOR:
        target = f"/login/setup-second-factor?next={target}"
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(request, response, result.session_token)
    return response


@router.get("/login/second-factor", dependencies=[Depends(second_factor_pending)])
async def second_factor_form(request: Request, next: str = "") -> Response:
    return render(request, "auth/second_factor.html", {"next": next})


@router.post("/login/second-factor", dependencies=[Depends(second_factor_pending)])
async def second_factor(
    request: Request,
    db: SessionDep,
    settings: SettingsDep,
    code: Annotated[str, Form(max_length=32)] = "",
    next: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    pending, user = pending_sign_in(request)
    async with db.begin():
        result = await accounts.complete_second_factor(
            db, settings, pending, user, code, actor_of(request)
        )
    if result.outcome != SignIn.SIGNED_IN:
        context = {
            "next": next,
            "outcome": result.outcome.value,
            "locked_until": result.locked_until,
        }
        status = 429 if result.outcome == SignIn.LOCKED else 401
        return render(request, "auth/second_factor.html", context, status_code=status)
    response = RedirectResponse(local_path(next) if next else _home_for(user), status_code=303)
    set_session_cookie(request, response, result.session_token)
    return response


@router.get("/login/setup-second-factor", dependencies=[Depends(second_factor_pending)])
async def setup_second_factor_form(request: Request, next: str = "") -> Response:
    _, user = pending_sign_in(request)
    secret = totp.new_secret()
    return _setup_page(request, user, secret, next)


def _setup_page(request: Request, user, secret: str, next: str, error: str = "", status: int = 200):
    uri = totp.provisioning_uri(secret, user.email)
    return render(
        request,
        "auth/setup_second_factor.html",
        {"secret": secret, "qr_svg": totp.qr_code_svg(uri), "next": next, "error": error},
        status_code=status,
    )


@router.post("/login/setup-second-factor", dependencies=[Depends(second_factor_pending)])
async def setup_second_factor(
    request: Request,
    db: SessionDep,
    settings: SettingsDep,
    secret: Annotated[str, Form(max_length=64)] = "",
    code: Annotated[str, Form(max_length=32)] = "",
    next: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """A role demands 2FA: the user enrols now, and only then gets a session that grants."""
    pending, user = pending_sign_in(request)
    async with db.begin():
        codes = await accounts.enable_two_factor(
            db, settings, user, secret, code, actor_of(request)
        )
        if codes is None:
            error = translate(
                request, "That code is not valid. Check your device's clock and try again."
            )
            return _setup_page(request, user, secret, next, error, status=422)
        result = await accounts.promote_session(
            db, settings, pending, user, actor_of(request), "auth.login"
        )
    response = render(
        request,
        "auth/backup_codes.html",
        {"codes": codes, "next": local_path(next) or _home_for(user)},
    )
    set_session_cookie(request, response, result.session_token)
    return response


def _held_session(request: Request):
    principal, pending = request.state.principal, request.state.pending
    if principal is not None:
        return principal.session
    return pending[0] if pending else None


@router.post("/logout", dependencies=[Depends(public)])
async def logout(request: Request, db: SessionDep) -> Response:
    record = _held_session(request)
    if record is not None:
        async with db.begin():
            await sessions.revoke_session(db, record.id, user_id=None)
            audit.record(
                db, actor_of(request), "auth.logout", target_type="user", target_id=record.user_id
            )
    response = RedirectResponse("/login?signed_out=1", status_code=303)
    clear_session_cookie(response)
    return response


# -- registration and verification --------------------------------------------------------------


@router.get("/register", dependencies=[Depends(public)])
async def register_form(request: Request) -> Response:
    form = {"kind": "company", "company_name": "", "full_name": "", "email": ""}
    return render(request, "auth/register.html", {"form": form, "errors": {}})


@router.post("/register", dependencies=[Depends(public)])
async def register(
    request: Request,
    db: SessionDep,
    settings: SettingsDep,
    temporal: TemporalDep,
    # No max_length here: an oversized field gets its own error next to it (from the service),
    # not a generic 422 page; the CSRF middleware caps the whole body.
    kind: Annotated[str, Form()] = "company",
    company_name: Annotated[str, Form()] = "",
    full_name: Annotated[str, Form()] = "",
    email: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
) -> Response:
    form = {"kind": kind, "company_name": company_name, "full_name": full_name, "email": email}
    customer_kind = CustomerKind.INDIVIDUAL if kind == "individual" else CustomerKind.COMPANY
    registration = Registration(
        customer_kind, company_name, full_name, email, password, locale_of(request)
    )
    try:
        async with db.begin():
            outgoing = await accounts.register_customer(
                db, settings, registration, actor_of(request)
            )
    except InputError as problem:
        context = {"form": form, "errors": _errors(request, problem)}
        return render(request, "auth/register.html", context, status_code=422)
    await send_outgoing(temporal, settings, outgoing)
    return render(request, "auth/check_email.html", {"email": email.strip()})


@router.get("/verify-email", dependencies=[Depends(public)])
async def verify_email(
    request: Request, db: SessionDep, settings: SettingsDep, token: str = ""
) -> Response:
    async with db.begin():
        user = await accounts.verify_email(db, settings, token[:200], actor_of(request))
    return render(
        request, "auth/email_verified.html", {"verified": user is not None},
        status_code=200 if user else 400,
    )  # fmt: skip


# -- password reset ------------------------------------------------------------------------------


@router.get("/forgot-password", dependencies=[Depends(public)])
async def forgot_password_form(request: Request) -> Response:
    return render(request, "auth/forgot_password.html", {"email": "", "sent": False})


@router.post("/forgot-password", dependencies=[Depends(public)])
async def forgot_password(
    request: Request, db: SessionDep, settings: SettingsDep, temporal: TemporalDep, email: Text = ""
) -> Response:
    async with db.begin():
        outgoing = await accounts.request_password_reset(db, settings, email, actor_of(request))
    await send_outgoing(temporal, settings, outgoing)
    # The same page whether or not the account exists: this form reveals nothing.
    return render(request, "auth/forgot_password.html", {"email": email, "sent": True})


@router.get("/reset-password", dependencies=[Depends(public)])
async def reset_password_form(request: Request, db: SessionDep, token: str = "") -> Response:
    owner = await one_time_tokens.owner(db, token[:200], OneTimeTokenPurpose.RESET_PASSWORD)
    if owner is None:
        context = {"token": "", "invalid": True, "errors": {}}
        return render(request, "auth/reset_password.html", context, status_code=400)
    return render(request, "auth/reset_password.html", {"token": token[:200], "errors": {}})


@router.post("/reset-password", dependencies=[Depends(public)])
async def reset_password(
    request: Request,
    db: SessionDep,
    settings: SettingsDep,
    token: Annotated[str, Form(max_length=200)] = "",
    password: Password = "",
) -> Response:
    try:
        async with db.begin():
            user = await accounts.reset_password(db, settings, token, password, actor_of(request))
    except InputError as problem:
        context = {"token": token, "errors": _errors(request, problem)}
        return render(request, "auth/reset_password.html", context, status_code=422)
    if user is None:
        context = {"token": "", "invalid": True, "errors": {}}
        return render(request, "auth/reset_password.html", context, status_code=400)
    response = RedirectResponse("/login?password_reset=1", status_code=303)
    clear_session_cookie(response)
    return response
