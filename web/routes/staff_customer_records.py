"""A back-office customer's documents (upload, preview, download, delete: audited) and internal
notes (staff only; mentions email the colleagues named)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, HTTPException, Request, UploadFile
from starlette.responses import Response

from api import customer_documents, customer_notes
from api.access import STAFF, Principal, require, signed_in
from api.attachments import UploadRefused, read_uploads
from api.email import send_outgoing
from api.identity.accounts import InputError
from api.routes.deps import SessionDep, SettingsDep, TemporalDep, actor_of
from db.models import Customer
from db.queries.customers import customer_documents as documents_of
from db.queries.customers import customer_notes as notes_of
from i18n import N_
from web.customer_pages import back_to, customer_or_404, customer_page
from web.forms import TEXT_LIMIT, field_errors, id_or_404
from web.templating import translate

router = APIRouter(
    prefix="/staff/customers/{customer_id}",
    include_in_schema=False,
    dependencies=[Depends(signed_in(STAFF))],
)

Viewer = Annotated[Principal, Depends(require("customers.view", area=STAFF))]
Editor = Annotated[Principal, Depends(require("customers.edit", area=STAFF))]
Files = Annotated[list[UploadFile] | None, File()]


async def _documents(
    request: Request, db, principal: Principal, customer: Customer, errors=None, status_code=200
) -> Response:
    rows = await documents_of(db, customer.id)
    return await customer_page(
        request, customer, principal, "documents",
        {"documents": rows, "errors": errors or {}}, status_code=status_code,
    )  # fmt: skip


@router.get("/documents")
async def documents(request: Request, customer_id: str, principal: Viewer, db: SessionDep):
    return await _documents(request, db, principal, await customer_or_404(db, customer_id))


@router.post("/documents")
async def upload(
    request: Request,
    customer_id: str,
    principal: Editor,
    db: SessionDep,
    settings: SettingsDep,
    files: Files = None,
) -> Response:
    try:
        pending = await read_uploads(settings, files or [])
        if not pending:
            raise UploadRefused(N_("Choose a file to upload."))
        async with db.begin():
            customer = await customer_or_404(db, customer_id)
            await customer_documents.attach(
                db, settings, actor_of(request), customer.id, pending, by_staff=True
            )
    except UploadRefused as refused:
        message = translate(request, refused.message, **refused.variables)
        customer = await customer_or_404(db, customer_id)
        return await _documents(
            request, db, principal, customer, {"files": message}, status_code=422
        )
    done = translate(request, "The document is on file.")
    return back_to(customer.id, "documents", request, done, "success")


@router.post("/documents/{document_id}/delete")
async def delete(
    request: Request,
    customer_id: str,
    document_id: str,
    principal: Editor,
    db: SessionDep,
    settings: SettingsDep,
) -> Response:
    try:
        async with db.begin():
            customer = await customer_or_404(db, customer_id)
            document = await customer_documents.delete_document(
                db, settings, actor_of(request), customer.id, id_or_404(document_id),
                by_customer=False,
            )  # fmt: skip
    except customer_documents.DocumentNotFound as missing:
        raise HTTPException(status_code=404) from missing
    done = translate(request, "%(name)s is deleted.", name=document.filename)
    return back_to(customer.id, "documents", request, done, "success")


async def _notes(
    request: Request, db, principal: Principal, customer: Customer, form=None, errors=None,
    status_code: int = 200,
) -> Response:  # fmt: skip
    return await customer_page(
        request, customer, principal, "notes",
        {"notes": await notes_of(db, customer.id), "form": form or {"body": ""},
         "errors": errors or {}},
        status_code=status_code,
    )  # fmt: skip


@router.get("/notes")
async def notes(request: Request, customer_id: str, principal: Viewer, db: SessionDep):
    return await _notes(request, db, principal, await customer_or_404(db, customer_id))


@router.post("/notes")
async def add_note(
    request: Request,
    customer_id: str,
    principal: Viewer,
    db: SessionDep,
    settings: SettingsDep,
    temporal: TemporalDep,
    body: Annotated[str, Form(max_length=TEXT_LIMIT)] = "",
) -> Response:
    try:
        async with db.begin():
            customer = await customer_or_404(db, customer_id)
            _, outgoing = await customer_notes.add_note(
                db, settings, principal, actor_of(request), customer.id, body
            )
    except InputError as problem:
        customer = await customer_or_404(db, customer_id)
        return await _notes(
            request, db, principal, customer, {"body": body}, field_errors(request, problem),
            status_code=422,
        )  # fmt: skip
    await send_outgoing(temporal, settings, outgoing)
    return back_to(customer.id, "notes", request, translate(request, "Note added."), "success")
