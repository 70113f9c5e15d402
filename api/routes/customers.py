"""Customers for integrators (/api/v1/customers): list and read, with the KYC file.

Needs the `customers.view` scope. A staff token lists every customer (search, status, KYC state,
segment); a customer token sees its own company only, and another company's id answers 404 as
an unknown one does. Changes go through the back-office and the portal, where they are audited
and the KYC workflow decides; this API reads.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from sqlalchemy import func, select

from api.access import Principal, require
from api.customers import CustomerNotFound, addresses_of, find_customer
from api.routes.auth import BEARER_SCHEME
from api.routes.customer_schemas import CustomerDetail, CustomerPage, detail_of, summary_of
from api.routes.deps import SessionDep
from api.routes.problems import ProblemError, problem_responses
from db.models import CustomerStatus, User
from db.models.customers import KYC_STATES
from db.queries.customers import CustomerFilters, customer_documents, list_customers

router = APIRouter(prefix="/customers", tags=["customers"], dependencies=[Depends(BEARER_SCHEME)])

Viewer = Annotated[Principal, Depends(require("customers.view"))]
KycState = Literal[KYC_STATES]  # type: ignore[valid-type]
MAX_PER_PAGE = 100


@router.get(
    "",
    response_model=CustomerPage,
    summary="List customers",
    description="Needs `customers.view`. Staff tokens list every customer, newest first; "
    "customer tokens get their own company only. `q` searches names, emails and identifiers "
    "(NIF, NIS, RC, national id; spaces ignored).",
    responses=problem_responses(401, 403, 422),
)
async def list_all(
    principal: Viewer,
    db: SessionDep,
    q: Annotated[str, Query(max_length=200)] = "",
    status: Annotated[CustomerStatus | None, Query()] = None,
    kyc_state: Annotated[KycState | None, Query()] = None,
    segment: Annotated[str, Query(max_length=40, description="Staff tokens only.")] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=MAX_PER_PAGE)] = 25,
) -> CustomerPage:
    if not principal.is_staff and principal.customer_id is None:
        return CustomerPage(items=[], total=0, page=1, per_page=per_page, pages=1)
    filters = CustomerFilters(
        search=q,
        customer_id=None if principal.is_staff else principal.customer_id,
        status=status,
        kyc_state=kyc_state or "",
        segment=segment if principal.is_staff else "",
    )
    found = await list_customers(db, filters, page, per_page)
    return CustomerPage(
        items=[summary_of(row, staff=principal.is_staff) for row in found.items],
        total=found.total, page=found.number, per_page=per_page, pages=found.pages,
    )  # fmt: skip


@router.get(
    "/{customer_id}",
    response_model=CustomerDetail,
    summary="Read a customer and its KYC file",
    description="Needs `customers.view`. Identifiers, addresses, and the KYC file: its state and "
    "round, and each document sent with the reviewers' decision and reason (never the bytes).",
    responses=problem_responses(401, 403, 404),
)
async def read(customer_id: str, principal: Viewer, db: SessionDep) -> CustomerDetail:
    key = _visible_id(principal, customer_id)
    try:
        customer = await find_customer(db, key)
    except CustomerNotFound as missing:
        raise ProblemError(404, "No such customer.") from missing
    users = await db.scalar(select(func.count()).where(User.customer_id == key))
    addresses = await addresses_of(db, key)
    documents = await customer_documents(db, key, include_deleted=False)
    kyc_documents = [document for document in documents if document.review_status]
    return detail_of(
        customer, users or 0, list(addresses.values()), kyc_documents, staff=principal.is_staff
    )


def _visible_id(principal: Principal, customer_id: str) -> uuid.UUID:
    try:
        key = uuid.UUID(customer_id)
    except ValueError:
        raise ProblemError(404, "No such customer.") from None
    if not principal.is_staff and key != principal.customer_id:
        raise ProblemError(404, "No such customer.")
    return key
