"""Admin console (/admin): settings, system health, outbound mail."""

from __future__ import annotations

from typing import Annotated

from email_validator import EmailNotValidError, validate_email
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from api.access import STAFF, Principal, require, signed_in
from api.email import send_test_email
from api.health import check_health
from api.routes.deps import SessionDep, SettingsDep
from db.queries.outbox import any_unsettled, recent_emails
from web.flash import flash
from web.templating import is_fragment_request, locale_of, render, translate

router = APIRouter(
    prefix="/admin", include_in_schema=False, dependencies=[Depends(signed_in(STAFF))]
)
CAN_VIEW_SETTINGS = [Depends(require("settings.view"))]


# Any staff member may open the console's home: it shows only the sections they may use.
@router.get("")
async def admin_home(request: Request) -> Response:
    return render(request, "admin/home.html")


async def _system_page(
    request: Request,
    session: SessionDep,
    *,
    form: dict | None = None,
    errors: dict | None = None,
    status_code: int = 200,
    block: str | None = None,
    queued_to: str = "",
) -> Response:
    """The system page; its polling panels ask for one block of it (the full page otherwise)."""
    report = await check_health(request.app.state.sessionmaker, request.app.state.temporal)
    emails = await recent_emails(session)
    # Poll while an email is on its way, including one just queued whose outbox row the
    # workflow has not written yet.
    awaiting = queued_to and not any(email.to_address == queued_to for email in emails)
    return render(
        request,
        "admin/system.html",
        {
            "report": report,
            "emails": emails,
            "emails_unsettled": any_unsettled(emails) or awaiting,
            "form": form or {"to": ""},
            "errors": errors or {},
            "queued_to": queued_to,
        },
        status_code=status_code,
        block=block,
    )


@router.get("/system", dependencies=CAN_VIEW_SETTINGS)
async def system(request: Request, session: SessionDep) -> Response:
    return await _system_page(request, session)


@router.get("/system/health", dependencies=CAN_VIEW_SETTINGS)
async def system_health(request: Request, session: SessionDep) -> Response:
    return await _system_page(request, session, block="health_panel")


@router.get("/system/outbox", dependencies=CAN_VIEW_SETTINGS)
async def system_outbox(request: Request, session: SessionDep, awaiting: str = "") -> Response:
    return await _system_page(request, session, block="outbox", queued_to=awaiting[:320])


@router.post("/system/test-email")
async def system_test_email(
    request: Request,
    principal: Annotated[Principal, Depends(require("settings.edit"))],
    session: SessionDep,
    settings: SettingsDep,
    to: Annotated[str, Form(max_length=320)] = "",
) -> Response:
    form = {"to": to}
    try:
        address = validate_email(to.strip(), check_deliverability=False).normalized
    except EmailNotValidError:
        errors = {"to": translate(request, "Enter a valid email address, like name@example.dz.")}
        return await _system_page(
            request, session, form=form, errors=errors, status_code=422, block="mail_section"
        )
    client = await request.app.state.temporal.client()
    await send_test_email(
        client,
        settings,
        to=address,
        requested_by=principal.user.full_name,
        locale=locale_of(request),
    )
    if is_fragment_request(request):
        return await _system_page(request, session, block="mail_section", queued_to=address)
    response = RedirectResponse("/admin/system#outbox", status_code=303)
    flash(
        request,
        response,
        translate(request, "Test message queued for %(to)s.", to=address),
        "success",
    )
    return response
