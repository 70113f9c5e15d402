"""What every tab of a back-office customer page shares: the customer by its id (404 when there
is none), its header and tabs, and the way back after an action."""

from __future__ import annotations

import uuid

from fastapi import HTTPException, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from api import customers
from api.access import Principal
from db.models import Customer
from web.flash import Category, flash
from web.forms import id_or_404
from web.templating import render


async def customer_or_404(db: AsyncSession, raw_id: str) -> Customer:
    try:
        return await customers.find_customer(db, id_or_404(raw_id))
    except customers.CustomerNotFound as missing:
        raise HTTPException(status_code=404) from missing


async def customer_page(
    request: Request, customer: Customer, principal: Principal, tab: str, context: dict,
    *, status_code: int = 200,
) -> Response:  # fmt: skip
    return render(
        request,
        f"staff/customers/{tab}.html",
        {"principal": principal, "customer": customer, "tab": tab, **context},
        status_code=status_code,
    )


def back_to(
    customer_id: uuid.UUID, tab: str, request: Request, message: str, category: Category
) -> Response:
    suffix = "" if tab == "profile" else f"/{tab}"
    response = RedirectResponse(f"/staff/customers/{customer_id}{suffix}", status_code=303)
    flash(request, response, message, category)
    return response
