"""The customer's verification (/portal/kyc): what is required, what was uploaded, what a
reviewer rejected and why; owners upload documents, delete those not submitted yet, and submit.

The file itself (required documents, state) is the live KycWorkflow; the documents are read
from PostgreSQL. Only ever the caller's own company."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from api import customer_documents, customers, kyc
from api.access import CUSTOMER, Principal, require, signed_in
from api.attachments import UploadRefused, read_uploads
from api.routes.deps import SessionDep, SettingsDep, TemporalDep, actor_of
from api.ticket_input import request_key
from db.queries.customers import customer_documents as documents_of
from i18n import N_
from web.flash import flash
from web.forms import TEXT_LIMIT, id_or_404
from web.templating import render, translate
from workflows.kyc_rules import REQUIREMENTS

router = APIRouter(
    prefix="/portal/kyc", include_in_schema=False, dependencies=[Depends(signed_in(CUSTOMER))]
)

Viewer = Annotated[Principal, Depends(require("customers.view", area=CUSTOMER))]
Editor = Annotated[Principal, Depends(require("customers.edit", area=CUSTOMER))]
Files = Annotated[list[UploadFile] | None, File()]
Text = Annotated[str, Form(max_length=TEXT_LIMIT)]


def _company_of(principal: Principal):
    if principal.customer_id is None:
        raise HTTPException(status_code=404)
    return principal.customer_id


async def _page(
    request: Request, db, temporal, settings, principal: Principal, errors=None, status_code=200
) -> Response:
    customer = await customers.find_customer(db, _company_of(principal))
    await kyc.ensure_started(temporal, db, settings, customer)
    file = await kyc.view(temporal, customer.id)
    documents = await documents_of(db, customer.id, include_deleted=False)
    by_requirement = {
        key: [d for d in documents if d.requirement == key]
        for key in (file.required if file else [])
    }
    return render(
        request,
        "portal/kyc.html",
        {
            "principal": principal,
            "customer": customer,
            "file": file,
            "by_requirement": by_requirement,
            "errors": errors or {},
            "request_id": str(uuid.uuid4()),  # one per form: a double submit is one
        },
        status_code=status_code,
    )


@router.get("")
async def kyc_page(
    request: Request, principal: Viewer, db: SessionDep, temporal: TemporalDep,
    settings: SettingsDep,
) -> Response:  # fmt: skip
    return await _page(request, db, temporal, settings, principal)


def _back(request: Request, message: str, category="success") -> Response:
    response = RedirectResponse("/portal/kyc", status_code=303)
    flash(request, response, message, category)
    return response


@router.post("/documents")
async def upload(
    request: Request,
    principal: Editor,
    db: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    requirement: Annotated[str, Form(max_length=40)] = "",
    files: Files = None,
) -> Response:
    customer_id = _company_of(principal)
    file = await kyc.view(temporal, customer_id)
    if file is None or requirement not in file.required:
        raise HTTPException(status_code=404)
    try:
        pending = await read_uploads(settings, files or [])
        if not pending:
            raise UploadRefused(N_("Choose a file to upload."))
        async with db.begin():
            await customer_documents.attach(
                db, settings, actor_of(request), customer_id, pending, requirement=requirement,
                by_staff=False,
            )  # fmt: skip
    except UploadRefused as refused:
        errors = {requirement: translate(request, refused.message, **refused.variables)}
        return await _page(request, db, temporal, settings, principal, errors, status_code=422)
    done = translate(
        request, "The document is uploaded. Submit the file when every document is there."
    )
    return _back(request, done)


@router.post("/documents/{document_id}/delete")
async def delete(
    request: Request, document_id: str, principal: Editor, db: SessionDep, settings: SettingsDep
) -> Response:
    customer_id = _company_of(principal)
    try:
        async with db.begin():
            document = await customer_documents.delete_document(
                db, settings, actor_of(request), customer_id, id_or_404(document_id),
                by_customer=True,
            )  # fmt: skip
    except customer_documents.DocumentNotFound as missing:
        raise HTTPException(status_code=404) from missing
    return _back(request, translate(request, "%(name)s is deleted.", name=document.filename))


@router.post("/submit")
async def submit(
    request: Request,
    principal: Editor,
    db: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    request_id: Text = "",
) -> Response:
    customer = await customers.find_customer(db, _company_of(principal))
    try:
        await kyc.submit(
            temporal, db, principal, customer, request_key(principal, request_id, customer.id)
        )
    except kyc.KycRefused as refused:
        variables = dict(refused.variables)
        if "missing" in variables:
            variables["missing"] = ", ".join(
                translate(request, REQUIREMENTS.get(key, key)) for key in variables["missing"]
            )
        message = translate(request, refused.message, **variables)
        return await _page(
            request, db, temporal, settings, principal, {"submit": message}, status_code=422
        )
    done = translate(
        request, "Thank you: your documents are with our team for review. We will email you."
    )
    return _back(request, done)
