"""Documents attached to a customer: KYC documents the customer uploads in the portal, and any
document staff keep on file. Uploads are checked by `api.attachments.read_uploads` (type by
content, size, emptiness) before anything is written; deleting keeps the row and removes the
bytes once no row needs them; every step is audited on the customer.

Who reads what: staff with `customers.view` every document; a customer's users (with
`customers.view`) only the documents their company uploaded, never what staff filed. Anything
else answers as if the document did not exist.
"""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api import audit
from api.access import Principal
from api.attachments import PendingFile, store
from api.audit import Actor
from api.settings import Settings
from db import file_store
from db.models import CustomerDocument


class DocumentNotFound(LookupError):
    """No such document, or not one the caller may read or change: answer 404."""


def _event(document: CustomerDocument) -> dict:
    return {
        "document": str(document.id),
        "filename": document.filename,
        "requirement": document.requirement,
        "size": document.size,
    }


async def attach(
    db: AsyncSession, settings: Settings, actor: Actor, customer_id: uuid.UUID,
    files: list[PendingFile], *, requirement: str = "", by_staff: bool,
) -> list[CustomerDocument]:  # fmt: skip
    """Store checked files and their rows in the caller's transaction. A document for a KYC
    requirement starts `uploaded`: the customer may still replace it until they submit."""
    rows = []
    for file in files:
        row = CustomerDocument(
            customer_id=customer_id, requirement=requirement, filename=file.filename,
            content_type=file.content_type, size=file.size, sha256=file.sha256,
            uploaded_by_id=actor.user_id, uploaded_by_staff=by_staff,
            review_status="uploaded" if requirement else None,
        )  # fmt: skip
        db.add(row)
        await db.flush()
        # Under the hash's lock: a retention purge of the same bytes cannot delete them under us.
        await file_store.lock(db, file.sha256)
        await store(settings, [file])
        audit.record(
            db, actor, "customer.document_added", target_type="customer",
            target_id=customer_id, after=_event(row),
        )  # fmt: skip
        rows.append(row)
    return rows


async def document_for(
    db: AsyncSession, principal: Principal, document_id: uuid.UUID
) -> CustomerDocument | None:
    """The document if this person may read it, else None (the page answers 404)."""
    if not principal.can("customers.view"):
        return None
    document = await db.get(CustomerDocument, document_id)
    if document is None or principal.is_staff:
        return document
    if document.customer_id != principal.customer_id or document.uploaded_by_staff:
        return None
    return document


async def delete_document(
    db: AsyncSession, settings: Settings, actor: Actor, customer_id: uuid.UUID,
    document_id: uuid.UUID, *, by_customer: bool,
) -> CustomerDocument:  # fmt: skip
    """Remove a document's bytes and mark it deleted; what it was stays on record. Customers
    delete only their own KYC documents not yet submitted: what a reviewer saw stays."""
    statement = select(CustomerDocument).where(
        CustomerDocument.id == document_id,
        CustomerDocument.customer_id == customer_id,
        CustomerDocument.deleted_at.is_(None),
    )
    if by_customer:
        statement = statement.where(
            CustomerDocument.uploaded_by_staff.is_(False),
            CustomerDocument.review_status == "uploaded",
        )
    document = await db.scalar(statement.with_for_update())
    if document is None:
        raise DocumentNotFound(document_id)
    await remove_file(db, settings, document)
    audit.record(
        db, actor, "customer.document_deleted", target_type="customer", target_id=customer_id,
        after=_event(document),
    )  # fmt: skip
    return document


async def remove_file(db: AsyncSession, settings: Settings, document: CustomerDocument) -> None:
    now = await db.scalar(select(func.now()))
    document.deleted_at = document.deleted_at or now
    document.file_removed_at = now
    await db.flush()
    await file_store.remove_unreferenced(db, settings.uploads_path, document.sha256)
