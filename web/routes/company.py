"""Customer portal, the company's users (/portal/company/users): owners see their colleagues,
invite new ones and deactivate those who left. Only ever their own company: another company's
user id answers 404, as an unknown one does."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from api import invitations, users
from api.access import CUSTOMER, Principal, require, signed_in
from api.email import send_outgoing
from api.identity.accounts import InputError
from api.routes.deps import SessionDep, SettingsDep, TemporalDep, actor_of
from db.models import Customer, UserKind
from db.queries.users import company_users
from web.flash import flash
from web.forms import TEXT_LIMIT, field_errors, id_or_404, invitation_page, refusal
from web.templating import locale_of, render, translate

router = APIRouter(
    prefix="/portal/company", include_in_schema=False, dependencies=[Depends(signed_in(CUSTOMER))]
)

Viewer = Annotated[Principal, Depends(require("users.view", area=CUSTOMER))]
Inviter = Annotated[Principal, Depends(require("users.create", area=CUSTOMER))]
Remover = Annotated[Principal, Depends(require("users.delete", area=CUSTOMER))]


def _company_of(principal: Principal) -> uuid.UUID:
    if principal.customer_id is None:  # a customer user always has a company; never guess
        raise HTTPException(status_code=404)
    return principal.customer_id


@router.get("/users")
async def company_users_page(request: Request, principal: Viewer, db: SessionDep) -> Response:
    customer_id = _company_of(principal)
    return render(
        request,
        "portal/company/users.html",
        {
            "principal": principal,
            "company": await db.get(Customer, customer_id),
            "people": await company_users(db, customer_id),
        },
    )


async def _invite_page(
    request: Request, db, principal: Principal, form: dict, errors: dict, status_code: int = 200
) -> Response:
    return await invitation_page(
        request, db, principal, template="portal/company/invite.html", kind=UserKind.CUSTOMER,
        form=form, errors=errors, status_code=status_code,
    )  # fmt: skip


@router.get("/users/invite")
async def invite_form(request: Request, principal: Inviter, db: SessionDep) -> Response:
    _company_of(principal)
    form = {"full_name": "", "email": "", "locale": locale_of(request), "roles": []}
    return await _invite_page(request, db, principal, form, {})


@router.post("/users/invite")
async def invite(
    request: Request,
    principal: Inviter,
    db: SessionDep,
    settings: SettingsDep,
    temporal: TemporalDep,
    full_name: Annotated[str, Form(max_length=TEXT_LIMIT)] = "",
    email: Annotated[str, Form(max_length=TEXT_LIMIT)] = "",
    locale: Annotated[str, Form(max_length=TEXT_LIMIT)] = "",
    roles: Annotated[list[str] | None, Form(max_length=20)] = None,
) -> Response:
    _company_of(principal)
    role_ids = roles or []
    form = {"full_name": full_name, "email": email, "locale": locale, "roles": role_ids}
    try:
        async with db.begin():
            user, outgoing = await invitations.invite_colleague(
                db, settings, principal, actor_of(request),
                invitations.Invitation(full_name, email, locale, role_ids),
            )  # fmt: skip
    except InputError as problem:
        return await _invite_page(
            request, db, principal, form, field_errors(request, problem), status_code=422
        )
    await send_outgoing(temporal, settings, outgoing)
    response = RedirectResponse("/portal/company/users", status_code=303)
    flash(
        request,
        response,
        translate(request, "Invitation sent to %(email)s.", email=user.email),
        "success",
    )
    return response


def _back(request: Request, message: str, category) -> Response:
    response = RedirectResponse("/portal/company/users", status_code=303)
    flash(request, response, message, category)
    return response


@router.post("/users/{user_id}/deactivate")
async def deactivate(request: Request, user_id: str, principal: Remover, db: SessionDep):
    customer_id = _company_of(principal)
    try:
        async with db.begin():
            user = await users.deactivate(
                db, principal, actor_of(request), id_or_404(user_id), customer_id=customer_id
            )
    except users.UserNotFound as missing:
        raise HTTPException(status_code=404) from missing
    except users.Refused as refused:
        return _back(request, refusal(request, refused), "error")
    done = translate(request, "%(name)s can no longer sign in.", name=user.full_name)
    return _back(request, done, "success")


@router.post("/users/{user_id}/resend-invitation")
async def resend_invitation(
    request: Request,
    user_id: str,
    principal: Inviter,
    db: SessionDep,
    settings: SettingsDep,
    temporal: TemporalDep,
) -> Response:
    customer_id = _company_of(principal)
    try:
        async with db.begin():
            outgoing = await invitations.resend(
                db, settings, principal, actor_of(request), id_or_404(user_id),
                customer_id=customer_id,
            )  # fmt: skip
    except users.UserNotFound as missing:
        raise HTTPException(status_code=404) from missing
    except users.Refused as refused:
        return _back(request, refusal(request, refused), "error")
    await send_outgoing(temporal, settings, outgoing)
    return _back(request, translate(request, "A new invitation is on its way."), "success")
