"""Customer portal, the company (/portal/company): its profile (owners edit it) and its users
(/portal/company/users): owners see their colleagues, invite new ones, change their roles and
deactivate those who left. Only ever their own company: another company's user id answers 404,
as an unknown one does."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from api import customers, invitations, users
from api.access import CUSTOMER, Principal, require, signed_in
from api.email import send_outgoing
from api.identity.accounts import InputError
from api.routes.deps import SessionDep, SettingsDep, TemporalDep, actor_of
from db.models import Customer, UserKind
from db.queries.users import all_roles, company_users
from web.customer_forms import read_profile_form
from web.flash import flash
from web.forms import TEXT_LIMIT, field_errors, id_or_404, invitation_page, refusal
from web.templating import locale_of, render, translate

router = APIRouter(
    prefix="/portal/company", include_in_schema=False, dependencies=[Depends(signed_in(CUSTOMER))]
)

CompanyViewer = Annotated[Principal, Depends(require("customers.view", area=CUSTOMER))]
CompanyEditor = Annotated[Principal, Depends(require("customers.edit", area=CUSTOMER))]
Viewer = Annotated[Principal, Depends(require("users.view", area=CUSTOMER))]
Editor = Annotated[Principal, Depends(require("users.edit", area=CUSTOMER))]
Inviter = Annotated[Principal, Depends(require("users.create", area=CUSTOMER))]
Remover = Annotated[Principal, Depends(require("users.delete", area=CUSTOMER))]


def _company_of(principal: Principal) -> uuid.UUID:
    if principal.customer_id is None:  # a customer user always has a company; never guess
        raise HTTPException(status_code=404)
    return principal.customer_id


async def _profile_page(
    request: Request, db, principal: Principal, form=None, errors=None, status_code: int = 200
) -> Response:
    customer = await customers.find_customer(db, _company_of(principal))
    addresses = await customers.addresses_of(db, customer.id)
    return render(
        request,
        "portal/company/profile.html",
        {
            "principal": principal,
            "customer": customer,
            "addresses": addresses,
            "form": form or customers.profile_form(customer, addresses),
            "errors": errors or {},
            "action": "/portal/company",
            "with_segment": False,
        },
        status_code=status_code,
    )


@router.get("")
async def company_profile(request: Request, principal: CompanyViewer, db: SessionDep) -> Response:
    return await _profile_page(request, db, principal)


@router.post("")
async def update_company_profile(
    request: Request, principal: CompanyEditor, db: SessionDep
) -> Response:
    customer_id = _company_of(principal)
    form = await read_profile_form(request, with_segment=False)
    try:
        async with db.begin():
            await customers.update_profile(db, actor_of(request), customer_id, form)
    except InputError as problem:
        errors = field_errors(request, problem)
        return await _profile_page(request, db, principal, form, errors, status_code=422)
    response = RedirectResponse("/portal/company", status_code=303)
    flash(request, response, translate(request, "Changes saved."), "success")
    return response


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
            "roles": await all_roles(db, UserKind.CUSTOMER),
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


@router.post("/users/{user_id}/roles")
async def change_roles(
    request: Request,
    user_id: str,
    principal: Editor,
    db: SessionDep,
    roles: Annotated[list[str] | None, Form(max_length=20)] = None,
) -> Response:
    customer_id = _company_of(principal)
    try:
        async with db.begin():
            user = await users.change_company_roles(
                db, principal, actor_of(request), id_or_404(user_id), roles or [],
                customer_id=customer_id,
            )  # fmt: skip
    except users.UserNotFound as missing:
        raise HTTPException(status_code=404) from missing
    except users.Refused as refused:
        return _back(request, refusal(request, refused), "error")
    except InputError as problem:
        return _back(request, " ".join(field_errors(request, problem).values()), "error")
    done = translate(request, "The roles of %(name)s are saved.", name=user.full_name)
    return _back(request, done, "success")
