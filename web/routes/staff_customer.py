"""One customer in the back-office (/staff/customers/{id}): the profile (edit, status with its
reason), users, tickets, security (each user's sign-ins, failures, sessions, second factor) and
the timeline of every change. Documents and notes: web/routes/staff_customer_records.py."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from starlette.responses import Response

from api import customers, kyc
from api.access import STAFF, Principal, require, signed_in
from api.identity import sessions
from api.identity.accounts import InputError
from api.routes.deps import SessionDep, SettingsDep, TemporalDep, actor_of
from api.users import temporary_lockout
from db.models import CustomerStatus, User
from db.queries.customers import customer_tickets, customer_timeline
from db.queries.login_history import login_history
from db.queries.paging import page_number
from db.queries.users import company_users
from web.customer_forms import read_profile_form
from web.customer_pages import back_to, customer_or_404, customer_page
from web.forms import TEXT_LIMIT, field_errors
from web.routes.account import history_rows
from web.templating import translate

router = APIRouter(
    prefix="/staff/customers/{customer_id}",
    include_in_schema=False,
    dependencies=[Depends(signed_in(STAFF))],
)

Viewer = Annotated[Principal, Depends(require("customers.view", area=STAFF))]
Editor = Annotated[Principal, Depends(require("customers.edit", area=STAFF))]
SECURITY_HISTORY = 10


async def _profile(
    request: Request, db, principal: Principal, customer_id: str, *, form=None, errors=None,
    status_form=None, status_errors=None, status_code: int = 200,
) -> Response:  # fmt: skip
    customer = await customer_or_404(db, customer_id)
    addresses = await customers.addresses_of(db, customer.id)
    return await customer_page(
        request, customer, principal, "profile",
        {"addresses": addresses, "form": form or customers.profile_form(customer, addresses),
         "errors": errors or {}, "action": f"/staff/customers/{customer.id}",
         "with_segment": True,
         "next_statuses": sorted(customers.STATUS_CHANGES[customer.status]),
         "status_form": status_form or {"status": "", "reason": ""},
         "status_errors": status_errors or {}},
        status_code=status_code,
    )  # fmt: skip


@router.get("")
async def profile(request: Request, customer_id: str, principal: Viewer, db: SessionDep):
    return await _profile(request, db, principal, customer_id)


@router.post("")
async def update_profile(request: Request, customer_id: str, principal: Editor, db: SessionDep):
    form = await read_profile_form(request, with_segment=True)
    try:
        async with db.begin():
            customer = await customer_or_404(db, customer_id)
            await customers.update_profile(db, actor_of(request), customer.id, form)
    except InputError as problem:
        return await _profile(
            request, db, principal, customer_id, form=form,
            errors=field_errors(request, problem), status_code=422,
        )  # fmt: skip
    return back_to(customer.id, "profile", request, translate(request, "Changes saved."), "success")


@router.post("/status")
async def change_status(
    request: Request,
    customer_id: str,
    principal: Editor,
    db: SessionDep,
    temporal: TemporalDep,
    status: Annotated[str, Form(max_length=40)] = "",
    reason: Annotated[str, Form(max_length=TEXT_LIMIT)] = "",
) -> Response:
    try:
        async with db.begin():
            customer = await customer_or_404(db, customer_id)
            changed = await customers.change_status(
                db, actor_of(request), customer.id, status, reason
            )
    except InputError as problem:
        return await _profile(
            request, db, principal, customer_id,
            status_form={"status": status, "reason": reason},
            status_errors=field_errors(request, problem), status_code=422,
        )  # fmt: skip
    if changed.status == CustomerStatus.CLOSED:
        await kyc.customer_closed(temporal, changed.id)
    done = translate(request, "The status is changed.")
    return back_to(customer.id, "profile", request, done, "success")


@router.get("/users")
async def users(request: Request, customer_id: str, principal: Viewer, db: SessionDep):
    customer = await customer_or_404(db, customer_id)
    people = await company_users(db, customer.id)
    return await customer_page(request, customer, principal, "users", {"people": people})


@router.get("/tickets")
async def tickets(request: Request, customer_id: str, principal: Viewer, db: SessionDep):
    customer = await customer_or_404(db, customer_id)
    rows = await customer_tickets(db, customer.id)
    return await customer_page(request, customer, principal, "tickets", {"tickets": rows})


@router.get("/security")
async def security(
    request: Request, customer_id: str, principal: Viewer, db: SessionDep, settings: SettingsDep
) -> Response:
    customer = await customer_or_404(db, customer_id)
    people = []
    for row in await company_users(db, customer.id):
        user = await db.get_one(User, row.id)
        history = history_rows(request, await login_history(db, user.id, SECURITY_HISTORY))
        people.append(
            {
                "user": user,
                "history": history,
                "failures": sum(1 for event in history if event["failed"]),
                "locked_until": await temporary_lockout(db, user),
                "sessions": await sessions.active_sessions(db, user.id, settings.session_policy),
            }
        )
    return await customer_page(request, customer, principal, "security", {"people": people})


@router.get("/timeline")
async def timeline(
    request: Request, customer_id: str, principal: Viewer, db: SessionDep, page: str = "1"
) -> Response:
    customer = await customer_or_404(db, customer_id)
    events = await customer_timeline(db, customer.id, page_number(page[:10]))
    base = f"/staff/customers/{customer.id}/timeline"

    def url(**changes: object) -> str:
        number = changes.get("page")
        return f"{base}?page={number}" if number else base

    return await customer_page(
        request, customer, principal, "timeline", {"events": events, "url": url}
    )
