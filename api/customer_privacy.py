"""A customer's personal data: everything we hold, exported as one ZIP (JSON and the documents'
files), and the anonymisation of a closed customer. Both are audited.

What anonymisation keeps, and why: the customer row and its id (invoices, tickets and the audit
trail refer to it); for a company, its legal identity (legal name and form, NIF, NIS, RC,
article d'imposition, billing address), which is not personal data and which accounting law
requires beside the invoices; the documents' rows (what was received and decided, without the
name of the file). The append-only audit trail is the legal record and stays as written.
Everything else that names a person goes: contacts, technical address, an individual's name,
national id and billing address, the users' names, emails and credentials, document files, the
text of internal notes. Tickets are left to the helpdesk's own retention rules.
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
import uuid
import zipfile
from pathlib import Path

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from api import audit
from api.attachments import stored_path
from api.audit import Actor
from api.customer_documents import remove_file
from api.customers import addresses_of, find_customer, snapshot
from api.identity import sessions
from api.users import Refused
from db.models import (
    ApiToken,
    BackupCode,
    Customer,
    CustomerAddress,
    CustomerDocument,
    CustomerKind,
    CustomerNote,
    CustomerStatus,
    Ticket,
    TicketMessage,
    User,
    UserStatus,
)
from db.queries.customers import customer_timeline
from i18n import N_

EXPORT_EVENTS = 10_000


def _row(obj: object, *names: str) -> dict:
    return {name: _plain(getattr(obj, name)) for name in names}


def _plain(value: object) -> object:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return getattr(value, "value", value)


async def _collect(db: AsyncSession, customer: Customer) -> dict:
    users = list(await db.scalars(select(User).where(User.customer_id == customer.id)))
    documents = list(
        await db.scalars(
            select(CustomerDocument).where(CustomerDocument.customer_id == customer.id)
        )
    )
    tickets = list(await db.scalars(select(Ticket).where(Ticket.customer_id == customer.id)))
    messages = list(
        await db.scalars(
            select(TicketMessage)
            .where(TicketMessage.ticket_id.in_([t.id for t in tickets]), ~TicketMessage.internal)
            .order_by(TicketMessage.created_at)
        )
    )
    events = await customer_timeline(db, customer.id, 1, per_page=EXPORT_EVENTS)
    return {
        "customer": {
            "id": str(customer.id), "kind": customer.kind.value, "status": customer.status.value,
            "created_at": customer.created_at.isoformat(), "kyc_state": customer.kyc_state,
            **snapshot(customer, await addresses_of(db, customer.id)),
        },
        "users": [_row(u, "id", "email", "full_name", "status", "locale", "time_zone",
                       "created_at", "email_verified_at") for u in users],
        "documents": [_row(d, "id", "requirement", "filename", "content_type", "size",
                           "uploaded_at", "review_status", "review_reason", "reviewed_at",
                           "deleted_at", "file_removed_at") for d in documents],
        "tickets": [
            {**_row(t, "id", "number", "subject", "status", "priority", "created_at"),
             "messages": [_row(m, "author_name", "body", "created_at")
                          for m in messages if m.ticket_id == t.id]}
            for t in tickets
        ],
        "history": [_row(e, "occurred_at", "actor_label", "action", "before", "after")
                    for e in events.items],
    }  # fmt: skip


def _write_zip(data: dict, files: list[tuple[str, Path]]) -> Path:
    handle, name = tempfile.mkstemp(prefix="customer-export-", suffix=".zip")
    os.close(handle)
    with zipfile.ZipFile(name, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("customer.json", json.dumps(data, ensure_ascii=False, indent=2))
        for entry, path in files:
            if path.is_file():
                archive.write(path, entry)
    return Path(name)


async def export(db: AsyncSession, settings, actor: Actor, customer_id: uuid.UUID) -> Path:
    """A ZIP file (a temporary file: the caller deletes it once sent)."""
    customer = await find_customer(db, customer_id)
    data = await _collect(db, customer)
    kept = await db.scalars(
        select(CustomerDocument).where(
            CustomerDocument.customer_id == customer.id, CustomerDocument.file_removed_at.is_(None)
        )
    )
    files = [
        (f"documents/{d.id}-{Path(d.filename).name}", stored_path(settings, d.sha256)) for d in kept
    ]
    # Zipping reads every file: in a thread, off the event loop.
    target = await asyncio.to_thread(_write_zip, data, files)
    audit.record(
        db, actor, "customer.exported", target_type="customer", target_id=customer.id,
        after={"documents": len(files), "tickets": len(data["tickets"])},
    )  # fmt: skip
    return target


async def anonymise(db: AsyncSession, settings, actor: Actor, customer_id: uuid.UUID) -> Customer:
    customer = await find_customer(db, customer_id, for_update=True)
    if customer.status != CustomerStatus.CLOSED:
        raise Refused(N_("Only a closed customer can be anonymised: close it first."))
    if customer.anonymised_at is not None:
        return customer
    label = f"#{str(customer.id)[:8]}"
    customer.email, customer.phone, customer.mobile = "", "", ""
    kept_addresses = ["billing"] if customer.kind == CustomerKind.COMPANY else []
    await db.execute(
        delete(CustomerAddress).where(
            CustomerAddress.customer_id == customer.id, CustomerAddress.kind.not_in(kept_addresses)
        )
    )
    if customer.kind == CustomerKind.INDIVIDUAL:
        customer.name = customer.legal_name = f"Anonymised customer {label}"
        customer.trade_name, customer.national_id, customer.nif = "", None, None
    for document in await db.scalars(
        select(CustomerDocument).where(CustomerDocument.customer_id == customer.id)
    ):
        if document.file_removed_at is None:
            await remove_file(db, settings, document)
        document.filename = "removed"
        document.review_reason = ""
    await db.execute(
        update(CustomerNote).where(CustomerNote.customer_id == customer.id).values(body="—")
    )
    users = list(await db.scalars(select(User).where(User.customer_id == customer.id)))
    for user in users:
        await sessions.revoke_all_sessions(db, user.id)
        await db.execute(delete(BackupCode).where(BackupCode.user_id == user.id))
        await db.execute(delete(ApiToken).where(ApiToken.user_id == user.id))
        user.full_name = "Anonymised user"
        user.email = f"anonymised-{user.id}@invalid"
        user.password_hash = user.totp_secret_encrypted = None
        user.totp_enabled_at = user.totp_last_step = None
        user.status = UserStatus.DEACTIVATED
    customer.anonymised_at = await db.scalar(select(func.now()))
    audit.record(
        db, actor, "customer.anonymised", target_type="customer", target_id=customer.id,
        after={"users": len(users)},
    )  # fmt: skip
    return customer
