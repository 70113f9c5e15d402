"""The KYC queue (/staff/kyc): files waiting for a reviewer, the longest-waiting first with how
long they have waited; one file's review page with an approve and a reject form per document.

Each decision form carries a request id drawn when the page is rendered: a double click sends
the same id twice and Temporal applies it once (see KycWorkflow.review)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from api import customers, kyc
from api.access import STAFF, Principal, require, signed_in
from api.routes.deps import SessionDep, TemporalDep
from api.ticket_input import request_key
from db.queries.customers import customer_documents, kyc_queue
from web.customer_pages import customer_or_404
from web.flash import flash
from web.forms import TEXT_LIMIT, id_or_404
from web.templating import render, translate

router = APIRouter(
    prefix="/staff/kyc", include_in_schema=False, dependencies=[Depends(signed_in(STAFF))]
)

Reviewer = Annotated[Principal, Depends(require("customers.validate", area=STAFF))]
Text = Annotated[str, Form(max_length=TEXT_LIMIT)]


@router.get("")
async def queue(request: Request, principal: Reviewer, db: SessionDep) -> Response:
    return render(
        request, "staff/kyc/index.html", {"principal": principal, "rows": await kyc_queue(db)}
    )


async def _review_page(
    request: Request, db, temporal, principal: Principal, raw_id: str, error: str = "",
    status_code: int = 200,
) -> Response:  # fmt: skip
    customer = await customer_or_404(db, raw_id)
    file = await kyc.view(temporal, customer.id)
    if file is None:
        raise HTTPException(status_code=404)
    documents = {str(d.id): d for d in await customer_documents(db, customer.id)}
    current = [(documents.get(d.document_id), d) for d in file.documents if d.round == file.round]
    return render(
        request,
        "staff/kyc/review.html",
        {
            "principal": principal,
            "customer": customer,
            "addresses": await customers.addresses_of(db, customer.id),
            "file": file,
            "current": [(row, state) for row, state in current if row is not None],
            "earlier": [
                documents.get(d.document_id) for d in file.documents if d.round < file.round
            ],
            "error": error,
            "request_id": str(uuid.uuid4()),  # one per rendered page: a double click is one
        },
        status_code=status_code,
    )


@router.get("/{customer_id}")
async def review_page(
    request: Request, customer_id: str, principal: Reviewer, db: SessionDep, temporal: TemporalDep
) -> Response:
    return await _review_page(request, db, temporal, principal, customer_id)


@router.post("/{customer_id}/documents/{document_id}/decision")
async def decide(
    request: Request,
    customer_id: str,
    document_id: str,
    principal: Reviewer,
    db: SessionDep,
    temporal: TemporalDep,
    decision: Annotated[str, Form(max_length=10)] = "",
    reason: Text = "",
    request_id: Text = "",
) -> Response:
    customer = id_or_404(customer_id)
    document = id_or_404(document_id)
    try:
        file = await kyc.review(
            temporal, principal, customer, document, approve=decision == "approve",
            reason=reason, request_id=request_key(principal, request_id, customer, document),
        )  # fmt: skip
    except kyc.KycRefused as refused:
        await db.rollback()
        message = translate(request, refused.message, **refused.variables)
        return await _review_page(
            request, db, temporal, principal, customer_id, message, status_code=422
        )
    if file.state == "in_review":
        response = RedirectResponse(f"/staff/kyc/{customer}", status_code=303)
        flash(request, response, translate(request, "Decision saved."), "success")
        return response
    response = RedirectResponse("/staff/kyc", status_code=303)
    done = (
        translate(request, "The file is approved: the customer is active and told.")
        if file.state == "approved"
        else translate(request, "The file goes back to the customer with your reasons.")
    )
    flash(request, response, done, "success")
    return response
