"""Internal notes on a customer: staff only, never shown in the portal. A note that mentions a
colleague (`@amina.benali`, the part of their email before the @) emails them, through the
outbox like every other email."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from api import audit
from api.access import Principal
from api.audit import Actor
from api.customers import find_customer
from api.email import Outgoing
from api.identity.accounts import InputError
from api.settings import Settings
from api.tickets import mentioned_staff
from db.models import CustomerNote, User
from i18n import N_

NOTE_LIMIT = 10_000


async def add_note(
    db: AsyncSession, settings: Settings, principal: Principal, actor: Actor,
    customer_id: uuid.UUID, body: str,
) -> tuple[CustomerNote, list[Outgoing]]:  # fmt: skip
    customer = await find_customer(db, customer_id)
    text = body.strip().replace("\x00", "")
    if not text:
        raise InputError({"body": (N_("Write the note first."), {})})
    if len(text) > NOTE_LIMIT:
        raise InputError({"body": (N_("Use at most %(count)s characters."), {"count": NOTE_LIMIT})})
    mentioned = [
        uuid.UUID(i) for i in await mentioned_staff(db, text) if i != str(principal.user_id)
    ]
    note = CustomerNote(
        customer_id=customer.id, author_id=principal.user_id,
        author_name=principal.user.full_name, body=text, mentioned_ids=mentioned,
    )  # fmt: skip
    db.add(note)
    await db.flush()
    audit.record(
        db, actor, "customer.note_added", target_type="customer", target_id=customer.id,
        after={"note": str(note.id), "mentioned": [str(i) for i in mentioned]},
    )  # fmt: skip
    emails = []
    for user_id in mentioned:
        colleague = await db.get_one(User, user_id)
        emails.append(
            Outgoing(
                "customer_note_mention", colleague.email, colleague.locale,
                {"name": colleague.full_name, "author": note.author_name,
                 "customer": customer.name, "body": text,
                 "url": f"{settings.base_url}/staff/customers/{customer.id}/notes"},
                f"customer-note:{note.id}:{colleague.id}",
            )
        )  # fmt: skip
    return note, emails
