"""Self-service account pages, the same for customers (/portal/account, /portal/security) and
staff (/staff/account, /staff/account/security): profile, password, two-step verification and
backup codes, sessions, login history, personal API tokens.

One set of handlers is built per area by `_area_router`; the templates (`account/*.html`) extend
the area's own layout. Every change is a plain form that posts and redirects (or, for secrets
shown once, answers the page with `Cache-Control: no-store`).
"""

# No `from __future__ import annotations`: the handlers are built per area in a function, and
# FastAPI must see their real annotations (`Me` is local to it).

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

import i18n
from api.access import CUSTOMER, STAFF, Access, Area, Principal, signed_in
from api.identity import accounts, devices, roles, self_service, totp
from api.identity import profile as profile_choices
from api.identity.accounts import InputError
from api.identity.api_tokens import personal_tokens
from api.identity.sessions import active_sessions
from api.permissions import ACTION_LABELS, AREA_LABELS, PERMISSIONS
from api.routes.deps import SessionDep, SettingsDep, actor_of
from db.models import AuditEvent, Customer, User
from db.queries.login_history import login_history
from i18n import N_
from web.auth import clear_session_cookie
from web.flash import flash
from web.templating import locale_of, render, translate

SECRETS_NOT_CACHED = {"Cache-Control": "no-store"}
RECENT_HISTORY = 10

Password = Annotated[str, Form(max_length=1024)]
# Names are checked (and refused past 200 or 100 characters) by the services, so that an oversized
# one gets the form back with the reason next to the field; this is only the hard ceiling.
LongText = Annotated[str, Form(max_length=4000)]
Code = Annotated[str, Form(max_length=32)]


@dataclass(frozen=True)
class AccountArea:
    """Where an area's account pages live and what they look like."""

    kind: Area
    layout: str
    home: str
    home_label: str
    base: str
    security: str
    guard: Access


PORTAL = AccountArea(
    CUSTOMER, "portal/_layout.html", "/portal", N_("Customer portal"),
    "/portal/account", "/portal/security", signed_in(CUSTOMER),
)  # fmt: skip
BACK_OFFICE = AccountArea(
    STAFF, "staff/_layout.html", "/staff", N_("Back-office"),
    "/staff/account", "/staff/account/security", signed_in(STAFF),
)  # fmt: skip


class _Locked(Exception):
    def __init__(self, until: datetime) -> None:
        self.until = until


class _NotAllowed(Exception):
    """A change the account's roles forbid (turning off a 2FA that a role requires)."""


# -- words for the login history -----------------------------------------------------------------

HISTORY_ACTIONS = {
    "auth.login": N_("Signed in"),
    "auth.api_login": N_("Signed in to the API"),
    "auth.login_password_ok": N_("Password accepted, second step due"),
    "auth.login_failed": N_("Sign-in failed"),
    "auth.login_refused": N_("Sign-in refused"),
    "auth.login_unverified": N_("Sign-in refused: email address not confirmed"),
    "auth.second_factor_failed": N_("Wrong verification code at sign-in"),
    "auth.logout": N_("Signed out"),
    "auth.password_changed": N_("Password changed"),
    "auth.password_change_failed": N_("Password change refused"),
    "auth.password_reset_requested": N_("Password reset requested"),
    "auth.password_reset": N_("Password reset by email link"),
    "auth.2fa_enabled": N_("Two-step verification turned on"),
    "auth.2fa_disabled": N_("Two-step verification turned off"),
    "auth.2fa_setup_failed": N_("Two-step verification set-up failed"),
    "auth.2fa_disable_failed": N_("Turning off two-step verification refused"),
    "auth.backup_codes_regenerated": N_("New backup codes generated"),
    "auth.backup_codes_failed": N_("New backup codes refused"),
    "auth.session_revoked": N_("A session was signed out"),
    "auth.sessions_revoked": N_("Other sessions were signed out"),
    "auth.refresh_revoked": N_("API refresh token revoked"),
}
HISTORY_REASONS = {
    "bad_password": N_("wrong password"),
    "bad_second_factor": N_("wrong code"),
    "bad_code": N_("wrong code"),
    "bad_code_and_password": N_("wrong password and code"),
    "locked": N_("too many failed attempts"),
    "status_locked": N_("account locked"),
    "status_deactivated": N_("account deactivated"),
    "status_invited": N_("invitation not accepted yet"),
    "second_factor_setup_required": N_("two-step verification must be set up first"),
}


def _is_failure(action: str) -> bool:
    return action.endswith(("_failed", "_refused", "_unverified"))


def _device(request: Request, user_agent: str) -> str:
    device = devices.describe(user_agent)
    if device.browser and device.os:
        # TRANSLATORS: a device in the sessions list, e.g. "Chrome 120 on Linux".
        return translate(request, "%(browser)s on %(os)s", browser=device.browser, os=device.os)
    return device.browser or device.os or translate(request, "Unknown device")


def history_rows(request: Request, events: list[AuditEvent]) -> list[dict]:
    rows = []
    for event in events:
        label = HISTORY_ACTIONS.get(event.action)
        reason = (event.after or {}).get("reason", "")
        reason_label = HISTORY_REASONS.get(reason)
        rows.append(
            {
                "at": event.occurred_at,
                "action": translate(request, label) if label else event.action,
                "reason": translate(request, reason_label) if reason_label else "",
                "failed": _is_failure(event.action),
                "ip": event.ip_address or "",
                "device": _device(request, event.user_agent) if event.user_agent else "",
            }
        )
    return rows


# -- shared pieces -------------------------------------------------------------------------------


def _errors(request: Request, problem: InputError) -> dict[str, str]:
    return {
        name: translate(request, message, **variables)
        for name, (message, variables) in problem.errors.items()
    }


def _locked_message(request: Request, until: datetime) -> str:
    return translate(
        request, "Too many failed attempts. Try again after %(time)s.",
        time=_short_time(request, until),
    )  # fmt: skip


def _short_time(request: Request, moment: datetime) -> str:
    return i18n.format_datetime(
        moment, "short", request.app.state.settings.time_zone, locale_of(request)
    )


def _page(
    request: Request, area: AccountArea, template: str, context: dict, *, status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:  # fmt: skip
    response = render(request, template, {"area": area, **context}, status_code=status_code)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _done(request: Request, target: str, message: str, category: str = "success") -> Response:
    response = RedirectResponse(target, status_code=303)
    flash(request, response, message, category)  # type: ignore[arg-type]
    return response


async def _me(db: AsyncSession, principal: Principal) -> User:
    return await db.get_one(User, principal.user_id)


# -- the routes of one area ----------------------------------------------------------------------


def _area_router(area: AccountArea) -> APIRouter:
    router = APIRouter(include_in_schema=False, dependencies=[Depends(area.guard)])
    Me = Annotated[Principal, Depends(area.guard)]
    base, security = area.base, area.security

    # -- profile ---------------------------------------------------------------------------------

    async def profile_page(
        request: Request, db, me: Principal, form: dict | None = None,
        errors: dict | None = None, status_code: int = 200,
    ) -> Response:  # fmt: skip
        user = await _me(db, me)
        company = (
            await db.scalar(select(Customer.name).where(Customer.id == user.customer_id))
            if user.customer_id
            else None
        )
        assigned = await roles.roles_of(db, user.id)
        role_names = sorted(translate(request, role.name) for role in assigned)
        form = form or {
            "full_name": user.full_name, "locale": user.locale, "time_zone": user.time_zone,
        }  # fmt: skip
        return _page(
            request, area, "account/profile.html",
            {"user": user, "company": company, "role_names": role_names, "form": form,
             "errors": errors or {}, "time_zones": profile_choices.time_zone_choices(),
             "languages": i18n.NAMES},
            status_code=status_code,
        )  # fmt: skip

    @router.get(base)
    async def account_home(me: Me) -> Response:
        return RedirectResponse(f"{base}/profile", status_code=303)

    @router.get(f"{base}/profile")
    async def profile(request: Request, db: SessionDep, me: Me) -> Response:
        return await profile_page(request, db, me)

    @router.post(f"{base}/profile")
    async def save_profile(
        request: Request,
        db: SessionDep,
        me: Me,
        full_name: LongText = "",
        locale: Annotated[str, Form(max_length=10)] = "",
        time_zone: Annotated[str, Form(max_length=64)] = "",
    ) -> Response:
        form = {"full_name": full_name, "locale": locale, "time_zone": time_zone}
        try:
            async with db.begin():
                user = await _me(db, me)
                await self_service.update_profile(
                    db, user, full_name=full_name, locale=locale, time_zone=time_zone,
                    actor=actor_of(request),
                )  # fmt: skip
        except InputError as problem:
            return await profile_page(request, db, me, form, _errors(request, problem), 422)
        # Said in the language just chosen: it is the one the next page will be in.
        message = i18n.localise(locale, PROFILE_SAVED)
        return _done(request, f"{base}/profile", message)

    # -- password --------------------------------------------------------------------------------

    @router.get(f"{base}/password")
    async def password_form(request: Request, me: Me) -> Response:
        return _page(request, area, "account/password.html", {"errors": {}})

    @router.post(f"{base}/password")
    async def change_password(
        request: Request,
        db: SessionDep,
        settings: SettingsDep,
        me: Me,
        current_password: Password = "",
        new_password: Password = "",
        new_password_confirm: Password = "",
    ) -> Response:
        actor = actor_of(request)
        try:
            async with db.begin():
                user = await _me(db, me)
                locked = await self_service.reauth_locked_until(db, user)
                if locked:
                    raise _Locked(locked)
                if new_password != new_password_confirm:
                    raise InputError(
                        {"new_password_confirm": (N_("The two new passwords differ."), {})}
                    )
                await accounts.change_password(
                    db, settings, user, current_password, new_password, me.session.id, actor
                )
        except _Locked as locked:
            context = {"errors": {}, "locked": _locked_message(request, locked.until)}
            return _page(request, area, "account/password.html", context, status_code=429)
        except InputError as problem:
            if "current_password" in problem.errors:
                async with db.begin():
                    await self_service.record_reauth_failure(
                        db, settings, me.user_id, me.user.email, actor,
                        "auth.password_change_failed", ["password"],
                    )  # fmt: skip
            context = {"errors": _errors(request, problem)}
            return _page(request, area, "account/password.html", context, status_code=422)
        message = translate(
            request, "Your password has been changed. Your other sessions have been signed out."
        )
        return _done(request, security, message)

    # -- security overview and login history ----------------------------------------------------

    @router.get(security)
    async def security_page(request: Request, db: SessionDep, settings: SettingsDep, me: Me):
        user = await _me(db, me)
        _, role_requires_2fa = await roles.permissions_of(db, user.id)
        current = me.session.id if me.session else None
        session_rows = [
            {
                "id": record.id,
                "device": _device(request, record.user_agent),
                "ip": record.ip_address or "",
                "created_at": record.created_at,
                "last_seen_at": record.last_seen_at,
                "current": record.id == current,
            }
            for record in await active_sessions(db, user.id, settings.session_policy)
        ]
        session_rows.sort(key=lambda row: not row["current"])  # this device first
        history = await login_history(db, user.id, limit=RECENT_HISTORY)
        return _page(
            request, area, "account/security.html",
            {"user": user, "role_requires_2fa": role_requires_2fa,
             "backup_remaining": await totp.remaining_backup_codes(db, user.id)
             if user.two_factor_enabled else 0,
             "sessions": session_rows, "history": history_rows(request, history),
             "history_complete": len(history) < RECENT_HISTORY},
        )  # fmt: skip

    if area.security != f"{base}/security":

        @router.get(f"{base}/security")
        async def security_alias(me: Me) -> Response:
            return RedirectResponse(security, status_code=303)

    @router.get(f"{security}/history")
    async def history_page(request: Request, db: SessionDep, me: Me) -> Response:
        history = await login_history(db, me.user_id)
        return _page(
            request, area, "account/history.html", {"history": history_rows(request, history)}
        )

    # -- two-step verification -------------------------------------------------------------------

    def setup_page(
        request: Request, user: User, secret: str, error: str = "", status_code: int = 200
    ) -> Response:
        uri = totp.provisioning_uri(secret, user.email)
        return _page(
            request, area, "account/two_factor_setup.html",
            {"secret": secret, "qr_svg": totp.qr_code_svg(uri), "error": error,
             "action": f"{security}/two-factor/setup"},
            status_code=status_code, headers=SECRETS_NOT_CACHED,
        )  # fmt: skip

    @router.get(f"{security}/two-factor/setup")
    async def two_factor_setup_form(request: Request, db: SessionDep, me: Me) -> Response:
        user = await _me(db, me)
        if user.two_factor_enabled:
            return _done(request, security, translate(request, ALREADY_ON), "info")
        return setup_page(request, user, totp.new_secret())

    @router.post(f"{security}/two-factor/setup")
    async def two_factor_setup(
        request: Request,
        db: SessionDep,
        settings: SettingsDep,
        me: Me,
        secret: Annotated[str, Form(max_length=64)] = "",
        code: Code = "",
    ) -> Response:
        async with db.begin():
            user = await _me(db, me)
            if user.two_factor_enabled:
                return _done(request, security, translate(request, ALREADY_ON), "info")
            codes = await accounts.enable_two_factor(
                db, settings, user, secret, code, actor_of(request)
            )
            if codes is None:
                error = translate(
                    request, "That code is not valid. Check your device's clock and try again."
                )
                return setup_page(request, user, secret, error, status_code=422)
        return _page(
            request, area, "account/backup_codes.html",
            {"codes": codes, "just_enabled": True}, headers=SECRETS_NOT_CACHED,
        )  # fmt: skip

    async def disable_page(request, db, me, errors=None, locked="", status_code=200):
        user = await _me(db, me)
        _, role_requires_2fa = await roles.permissions_of(db, user.id)
        return _page(
            request, area, "account/two_factor_disable.html",
            {"role_requires_2fa": role_requires_2fa, "errors": errors or {}, "locked": locked},
            status_code=status_code,
        )  # fmt: skip

    @router.get(f"{security}/two-factor/disable")
    async def two_factor_disable_form(request: Request, db: SessionDep, me: Me) -> Response:
        if not (await _me(db, me)).two_factor_enabled:
            return RedirectResponse(security, status_code=303)
        return await disable_page(request, db, me)

    @router.post(f"{security}/two-factor/disable")
    async def two_factor_disable(
        request: Request,
        db: SessionDep,
        settings: SettingsDep,
        me: Me,
        password: Password = "",
        code: Code = "",
    ) -> Response:
        actor = actor_of(request)
        try:
            async with db.begin():
                user = await _me(db, me)
                if not user.two_factor_enabled:
                    return RedirectResponse(security, status_code=303)
                _, role_requires_2fa = await roles.permissions_of(db, user.id)
                if role_requires_2fa:
                    raise _NotAllowed
                locked = await self_service.reauth_locked_until(db, user)
                if locked:
                    raise _Locked(locked)
                await accounts.disable_two_factor(db, settings, user, password, code, actor)
        except _NotAllowed:
            return await disable_page(request, db, me, status_code=409)
        except _Locked as locked:
            message = _locked_message(request, locked.until)
            return await disable_page(request, db, me, locked=message, status_code=429)
        except InputError as problem:
            async with db.begin():
                await self_service.record_reauth_failure(
                    db, settings, me.user_id, me.user.email, actor,
                    "auth.2fa_disable_failed", list(problem.errors),
                )  # fmt: skip
            errors = _errors(request, problem)
            return await disable_page(request, db, me, errors=errors, status_code=422)
        return _done(request, security, translate(request, "Two-step verification is now off."))

    async def backup_codes_page(request, db, me, errors=None, locked="", status_code=200):
        user = await _me(db, me)
        return _page(
            request, area, "account/backup_codes.html",
            {"codes": None, "errors": errors or {}, "locked": locked,
             "remaining": await totp.remaining_backup_codes(db, user.id)},
            status_code=status_code,
        )  # fmt: skip

    @router.get(f"{security}/backup-codes")
    async def backup_codes_form(request: Request, db: SessionDep, me: Me) -> Response:
        if not (await _me(db, me)).two_factor_enabled:
            return RedirectResponse(security, status_code=303)
        return await backup_codes_page(request, db, me)

    @router.post(f"{security}/backup-codes")
    async def regenerate_backup_codes(
        request: Request, db: SessionDep, settings: SettingsDep, me: Me, password: Password = ""
    ) -> Response:
        actor = actor_of(request)
        try:
            async with db.begin():
                user = await _me(db, me)
                if not user.two_factor_enabled:
                    return RedirectResponse(security, status_code=303)
                locked = await self_service.reauth_locked_until(db, user)
                if locked:
                    raise _Locked(locked)
                await self_service.check_password(user, password)
                codes = await accounts.regenerate_backup_codes(db, settings, user, actor)
        except _Locked as locked:
            message = _locked_message(request, locked.until)
            return await backup_codes_page(request, db, me, locked=message, status_code=429)
        except InputError as problem:
            async with db.begin():
                await self_service.record_reauth_failure(
                    db, settings, me.user_id, me.user.email, actor,
                    "auth.backup_codes_failed", ["password"],
                )  # fmt: skip
            errors = _errors(request, problem)
            return await backup_codes_page(request, db, me, errors=errors, status_code=422)
        return _page(
            request, area, "account/backup_codes.html", {"codes": codes},
            headers=SECRETS_NOT_CACHED,
        )  # fmt: skip

    # -- sessions --------------------------------------------------------------------------------

    @router.post(f"{security}/sessions/revoke-others")
    async def revoke_other_sessions(request: Request, db: SessionDep, me: Me) -> Response:
        async with db.begin():
            user = await _me(db, me)
            ended = await self_service.revoke_other_sessions(
                db, user, me.session.id, actor_of(request)
            )
        message = translate(request, "Other sessions signed out: %(count)s.", count=ended)
        return _done(request, f"{security}#sessions", message)

    @router.post(f"{security}/sessions/{{session_id}}/revoke")
    async def revoke_session(
        request: Request, db: SessionDep, me: Me, session_id: uuid.UUID
    ) -> Response:
        async with db.begin():
            user = await _me(db, me)
            revoked = await self_service.revoke_session(db, session_id, user, actor_of(request))
        if not revoked:
            raise HTTPException(status_code=404)
        if me.session is not None and session_id == me.session.id:
            response = RedirectResponse("/login?signed_out=1", status_code=303)
            clear_session_cookie(response)
            return response
        return _done(request, f"{security}#sessions", translate(request, SESSION_ENDED))

    # -- personal API tokens ---------------------------------------------------------------------

    async def tokens_page(
        request: Request, db, me: Principal, *, form: dict | None = None,
        errors: dict | None = None, created: tuple[str, str] | None = None,
        status_code: int = 200,
    ) -> Response:  # fmt: skip
        form = form or {"name": "", "scopes": [], "expires_on": ""}
        groups = []
        for group, actions in PERMISSIONS.items():
            choices = [
                {"value": f"{group}.{action}",
                 "label": translate(request, ACTION_LABELS[action]),
                 "checked": f"{group}.{action}" in form["scopes"]}
                for action in actions
                if me.can(f"{group}.{action}")
            ]  # fmt: skip
            if choices:
                groups.append({"label": translate(request, AREA_LABELS[group]), "choices": choices})
        return _page(
            request, area, "account/tokens.html",
            {"tokens": await personal_tokens(db, me.user_id), "groups": groups, "form": form,
             "errors": errors or {}, "created": created, "now": datetime.now(UTC)},
            status_code=status_code, headers=SECRETS_NOT_CACHED if created else None,
        )  # fmt: skip

    @router.get(f"{base}/tokens")
    async def tokens(request: Request, db: SessionDep, me: Me) -> Response:
        return await tokens_page(request, db, me)

    @router.post(f"{base}/tokens")
    async def create_token(
        request: Request,
        db: SessionDep,
        me: Me,
        name: LongText = "",
        scopes: Annotated[list[str] | None, Form(max_length=200)] = None,
        expires_on: Annotated[str, Form(max_length=32)] = "",
    ) -> Response:
        chosen = [scope[:60] for scope in scopes or ()]
        form = {"name": name, "scopes": chosen, "expires_on": expires_on}
        try:
            async with db.begin():
                user = await _me(db, me)
                secret, record = await self_service.create_token(
                    db, user, me.permissions, name=name, scopes=chosen, expires_on=expires_on,
                    actor=actor_of(request),
                )  # fmt: skip
        except InputError as problem:
            return await tokens_page(
                request, db, me, form=form, errors=_errors(request, problem), status_code=422
            )
        return await tokens_page(request, db, me, created=(record.name, secret))

    @router.post(f"{base}/tokens/{{token_id}}/revoke")
    async def revoke_token(
        request: Request, db: SessionDep, me: Me, token_id: uuid.UUID
    ) -> Response:
        async with db.begin():
            user = await _me(db, me)
            revoked = await self_service.revoke_token(db, token_id, user, actor_of(request))
        if not revoked:
            raise HTTPException(status_code=404)
        return _done(request, f"{base}/tokens", translate(request, TOKEN_REVOKED))

    return router


PROFILE_SAVED = N_("Your profile has been saved.")
ALREADY_ON = N_("Two-step verification is already on.")
SESSION_ENDED = N_("That session has been signed out.")
TOKEN_REVOKED = N_("The token has been revoked; it no longer works.")

router = APIRouter(include_in_schema=False)
router.include_router(_area_router(PORTAL))
router.include_router(_area_router(BACK_OFFICE))
