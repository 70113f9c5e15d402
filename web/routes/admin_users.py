"""Admin console, users (/admin/users): list with search, filters, sort and pages; inviting a
staff member; one user's page (profile, roles, status, second factor, sessions)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

import i18n
from api import invitations, users
from api.access import STAFF, Principal, require, signed_in
from api.email import send_outgoing
from api.identity import profile, sessions
from api.identity import roles as role_store
from api.identity.accounts import InputError
from api.routes.deps import SessionDep, SettingsDep, TemporalDep, actor_of
from api.settings import Settings
from db.models import Customer, UserKind, UserStatus
from db.queries.paging import page_number
from db.queries.users import (
    DEFAULT_SORT,
    DESCENDING_FIRST,
    SORTS,
    UserFilters,
    all_roles,
    list_users,
)
from web.flash import flash
from web.forms import TEXT_LIMIT, field_errors, id_or_404, invitation_page, refusal
from web.templating import locale_of, render, translate

router = APIRouter(
    prefix="/admin/users", include_in_schema=False, dependencies=[Depends(signed_in(STAFF))]
)

Name = Annotated[str, Form(max_length=TEXT_LIMIT)]
Email = Annotated[str, Form(max_length=TEXT_LIMIT)]
Text = Annotated[str, Form(max_length=TEXT_LIMIT)]
RoleIds = Annotated[list[str] | None, Form(max_length=100)]
Filter = Annotated[str, Query(max_length=TEXT_LIMIT)]  # long searches are cut, not refused

Viewer = Annotated[Principal, Depends(require("users.view"))]
Creator = Annotated[Principal, Depends(require("users.create"))]
Editor = Annotated[Principal, Depends(require("users.edit"))]
Remover = Annotated[Principal, Depends(require("users.delete"))]


# -- list ----------------------------------------------------------------------------------------


def _list_url(params: dict[str, str]) -> Callable[..., str]:
    """url(page=2) → this list's address with that change; None or "" drops a parameter."""

    def url(**changes: object) -> str:
        merged = {
            **params,
            **{key: "" if value is None else str(value) for key, value in changes.items()},
        }
        query = urlencode({key: value for key, value in merged.items() if value})
        return "/admin/users" + (f"?{query}" if query else "")

    return url


@router.get("")
async def users_list(
    request: Request,
    principal: Viewer,
    db: SessionDep,
    q: Filter = "",
    kind: Filter = "",
    status: Filter = "",
    role: Filter = "",
    sort: Filter = DEFAULT_SORT,
    dir: Filter = "",
    page: Filter = "1",
) -> Response:
    # Long searches are cut, NUL (which PostgreSQL text cannot hold) dropped.
    q, role = q.replace("\x00", "")[:200], role.replace("\x00", "")[:50]
    sort = sort if sort in SORTS else DEFAULT_SORT
    natural_descending = sort in DESCENDING_FIRST
    filters = UserFilters(
        search=q,
        kind=UserKind(kind) if kind in UserKind._value2member_map_ else None,
        status=UserStatus(status) if status in UserStatus._value2member_map_ else None,
        role=role,
        sort=sort,
        descending=dir == "desc" if dir in ("asc", "desc") else natural_descending,
    )
    results = await list_users(db, filters, page_number(page))
    params = {
        "q": filters.search,
        "kind": filters.kind.value if filters.kind else "",
        "status": filters.status.value if filters.status else "",
        "role": role,
        "sort": filters.sort if filters.sort != DEFAULT_SORT else "",
        "dir": "" if filters.descending == natural_descending else dir,
    }
    return render(
        request,
        "admin/users/index.html",
        {
            "principal": principal,
            "form": params,
            "filtered": any(params[key] for key in ("q", "kind", "status", "role")),
            "results": results,
            "sort": filters.sort,
            "descending": filters.descending,
            "url": _list_url(params),
            "roles": await all_roles(db),
        },
        block="results",
    )


# -- invite a staff member -----------------------------------------------------------------------


async def _new_user_page(
    request: Request, db, principal: Principal, form: dict, errors: dict, status_code: int = 200
) -> Response:
    return await invitation_page(
        request, db, principal, template="admin/users/new.html", kind=UserKind.STAFF,
        form=form, errors=errors, status_code=status_code,
    )  # fmt: skip


@router.get("/new")
async def new_user_form(request: Request, principal: Creator, db: SessionDep) -> Response:
    form = {"full_name": "", "email": "", "locale": locale_of(request), "roles": []}
    return await _new_user_page(request, db, principal, form, {})


@router.post("/new")
async def create_user(
    request: Request,
    principal: Creator,
    db: SessionDep,
    settings: SettingsDep,
    temporal: TemporalDep,
    full_name: Name = "",
    email: Email = "",
    locale: Text = "",
    roles: RoleIds = None,
) -> Response:
    role_ids = roles or []
    form = {"full_name": full_name, "email": email, "locale": locale, "roles": role_ids}
    invitation = invitations.Invitation(full_name, email, locale, role_ids)
    try:
        async with db.begin():
            user, outgoing = await invitations.invite_staff(
                db, settings, principal, actor_of(request), invitation
            )
    except InputError as problem:
        return await _new_user_page(
            request, db, principal, form, field_errors(request, problem), status_code=422
        )
    await send_outgoing(temporal, settings, outgoing)
    response = RedirectResponse(f"/admin/users/{user.id}", status_code=303)
    message = translate(request, "Invitation sent to %(email)s.", email=user.email)
    flash(request, response, message, "success")
    return response


# -- one user ------------------------------------------------------------------------------------


async def _user_page(
    request: Request,
    db,
    settings: Settings,
    principal: Principal,
    user_id: uuid.UUID,
    *,
    form: dict | None = None,
    errors: dict | None = None,
    status_code: int = 200,
) -> Response:
    try:
        user = await users.find_user(db, user_id)
    except users.UserNotFound as missing:
        raise HTTPException(status_code=404) from missing
    held = await role_store.roles_of(db, user.id)
    scope_roles = await all_roles(db, user.kind)
    _, two_factor_required = await role_store.permissions_of(db, user.id)
    customer = await db.get(Customer, user.customer_id) if user.customer_id else None
    form = form or {
        "full_name": user.full_name,
        "locale": user.locale,
        "time_zone": user.time_zone,
        "roles": [str(role.id) for role in held],
    }
    return render(
        request,
        "admin/users/detail.html",
        {
            "principal": principal,
            "user": user,
            "customer": customer,
            "held": held,
            "roles": scope_roles,
            "grantable": {r.id for r in scope_roles if users.grantable(r, principal.permissions)},
            "two_factor_required": two_factor_required,
            "backup_codes": await users.remaining_backup_codes(db, user),
            "lockout_until": await users.temporary_lockout(db, user),
            "sessions": await sessions.active_sessions(db, user.id, settings.session_policy),
            "is_self": user.id == principal.user_id,
            "form": form,
            "errors": errors or {},
            "languages": i18n.NAMES,
            "time_zones": profile.time_zone_choices(),
        },
        status_code=status_code,
    )


@router.get("/{user_id}")
async def user_page(
    request: Request, user_id: str, principal: Viewer, db: SessionDep, settings: SettingsDep
) -> Response:
    return await _user_page(request, db, settings, principal, id_or_404(user_id))


@router.post("/{user_id}")
async def update_user(
    request: Request,
    user_id: str,
    principal: Editor,
    db: SessionDep,
    settings: SettingsDep,
    full_name: Name = "",
    locale: Text = "",
    time_zone: Text = "",
    roles: RoleIds = None,
) -> Response:
    target = id_or_404(user_id)
    role_ids = roles or []
    changes = users.ProfileChanges(full_name, locale, time_zone, role_ids)
    form = {"full_name": full_name, "locale": locale, "time_zone": time_zone, "roles": role_ids}
    try:
        async with db.begin():
            user = await users.update_user(db, principal, actor_of(request), target, changes)
    except users.UserNotFound as missing:
        raise HTTPException(status_code=404) from missing
    except InputError as problem:
        return await _user_page(
            request, db, settings, principal, target,
            form=form, errors=field_errors(request, problem), status_code=422,
        )  # fmt: skip
    except users.Refused as refused:
        return _back(request, target, refusal(request, refused), "error")
    return _back(request, user.id, translate(request, "Changes saved."), "success")


def _back(request: Request, user_id: uuid.UUID, message: str, category) -> Response:
    response = RedirectResponse(f"/admin/users/{user_id}", status_code=303)
    flash(request, response, message, category)
    return response


Action = Callable[..., Awaitable[object]]


async def _act(
    request: Request, db, principal: Principal, user_id: str, action: Action, done: str
) -> Response:
    target = id_or_404(user_id)
    try:
        async with db.begin():
            await action(db, principal, actor_of(request), target)
    except users.UserNotFound as missing:
        raise HTTPException(status_code=404) from missing
    except users.Refused as refused:
        return _back(request, target, refusal(request, refused), "error")
    return _back(request, target, done, "success")


@router.post("/{user_id}/deactivate")
async def deactivate(request: Request, user_id: str, principal: Remover, db: SessionDep):
    done = translate(request, "The account is deactivated and its sessions have ended.")
    return await _act(request, db, principal, user_id, users.deactivate, done)


@router.post("/{user_id}/reactivate")
async def reactivate(request: Request, user_id: str, principal: Remover, db: SessionDep):
    done = translate(request, "The account is active again.")
    return await _act(request, db, principal, user_id, users.reactivate, done)


@router.post("/{user_id}/lock")
async def lock(request: Request, user_id: str, principal: Editor, db: SessionDep):
    done = translate(request, "The account is locked and its sessions have ended.")
    return await _act(request, db, principal, user_id, users.lock, done)


@router.post("/{user_id}/unlock")
async def unlock(request: Request, user_id: str, principal: Editor, db: SessionDep):
    done = translate(request, "The account is unlocked.")
    return await _act(request, db, principal, user_id, users.unlock, done)


@router.post("/{user_id}/reset-two-factor")
async def reset_two_factor(request: Request, user_id: str, principal: Editor, db: SessionDep):
    done = translate(
        request, "Two-step verification is reset: it will be set up again at the next sign-in."
    )
    return await _act(request, db, principal, user_id, users.reset_two_factor, done)


@router.post("/{user_id}/revoke-sessions")
async def revoke_sessions(request: Request, user_id: str, principal: Editor, db: SessionDep):
    done = translate(request, "Sessions revoked.")
    return await _act(request, db, principal, user_id, users.revoke_sessions, done)


@router.post("/{user_id}/sessions/{session_id}/revoke")
async def revoke_session(
    request: Request, user_id: str, session_id: str, principal: Editor, db: SessionDep
) -> Response:
    session = id_or_404(session_id)

    async def action(db, principal, actor, target):
        await users.revoke_session(db, principal, actor, target, session)

    return await _act(
        request, db, principal, user_id, action, translate(request, "Session revoked.")
    )


@router.post("/{user_id}/resend-invitation")
async def resend_invitation(
    request: Request,
    user_id: str,
    principal: Creator,
    db: SessionDep,
    settings: SettingsDep,
    temporal: TemporalDep,
) -> Response:
    target = id_or_404(user_id)
    try:
        async with db.begin():
            outgoing = await invitations.resend(db, settings, principal, actor_of(request), target)
    except users.UserNotFound as missing:
        raise HTTPException(status_code=404) from missing
    except users.Refused as refused:
        return _back(request, target, refusal(request, refused), "error")
    await send_outgoing(temporal, settings, outgoing)
    return _back(request, target, translate(request, "A new invitation is on its way."), "success")
