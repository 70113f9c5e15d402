"""Admin console, KYC settings (/admin/kyc): the documents each kind of customer provides and
the timers of a file (reminders, expiry, retention). Files started after a change follow it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from api import kyc_settings
from api.access import STAFF, Principal, require, signed_in
from api.identity.accounts import InputError
from api.routes.deps import SessionDep, actor_of
from web.flash import flash
from web.forms import field_errors
from web.templating import render, translate

router = APIRouter(
    prefix="/admin/kyc", include_in_schema=False, dependencies=[Depends(signed_in(STAFF))]
)

Viewer = Annotated[Principal, Depends(require("settings.view", area=STAFF))]
Editor = Annotated[Principal, Depends(require("settings.edit", area=STAFF))]
Keys = Annotated[list[str] | None, Form(max_length=20)]
Number = Annotated[str, Form(max_length=10)]


def _page(request: Request, principal, form: dict, errors=None, status_code=200) -> Response:
    return render(
        request, "admin/kyc.html",
        {"principal": principal, "form": form, "errors": errors or {}}, status_code=status_code,
    )  # fmt: skip


@router.get("")
async def kyc_settings_page(request: Request, principal: Viewer, db: SessionDep) -> Response:
    current = await kyc_settings.load(db)
    return _page(request, principal, {**current.__dict__})


@router.post("")
async def save_kyc_settings(
    request: Request,
    principal: Editor,
    db: SessionDep,
    company: Keys = None,
    individual: Keys = None,
    reminder_days: Number = "",
    reviewer_reminder_hours: Number = "",
    expiry_days: Number = "",
    retention_days: Number = "",
) -> Response:
    required = {"company": company or [], "individual": individual or []}
    numbers = {
        "reminder_days": reminder_days, "reviewer_reminder_hours": reviewer_reminder_hours,
        "expiry_days": expiry_days, "retention_days": retention_days,
    }  # fmt: skip
    try:
        async with db.begin():
            await kyc_settings.save(db, actor_of(request), kyc_settings.check(required, numbers))
    except InputError as problem:
        form = {"required": required, **numbers}
        return _page(request, principal, form, field_errors(request, problem), status_code=422)
    response = RedirectResponse("/admin/kyc", status_code=303)
    flash(request, response, translate(request, "Changes saved."), "success")
    return response
