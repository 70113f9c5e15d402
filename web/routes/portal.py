"""Customer portal (/portal): the dashboard. What needs the customer's action first (the KYC
step), then the company's open tickets, quick actions and its users. Orders and invoices join it
when they exist."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from api import customers, kyc
from api.access import CUSTOMER, CurrentPrincipal, signed_in
from api.routes.deps import SessionDep, SettingsDep, TemporalDep
from db.queries.customers import customer_tickets
from db.queries.users import company_users
from web.templating import render

router = APIRouter(
    prefix="/portal", include_in_schema=False, dependencies=[Depends(signed_in(CUSTOMER))]
)
DASHBOARD_TICKETS = 5


@router.get("")
async def portal_home(
    request: Request,
    principal: CurrentPrincipal,
    db: SessionDep,
    settings: SettingsDep,
    temporal: TemporalDep,
) -> Response:
    customer = await customers.find_customer(db, principal.customer_id)
    # A new company's verification starts with its first visit: its reminders count from here.
    await kyc.ensure_started(temporal, db, settings, customer)
    can = principal.can
    return render(
        request,
        "portal/home.html",
        {
            "principal": principal,
            "customer": customer,
            "tickets": await customer_tickets(
                db, customer.id, open_only=True, limit=DASHBOARD_TICKETS
            )
            if can("tickets.view")
            else [],
            "people": await company_users(db, customer.id) if can("users.view") else [],
        },
    )
