"""What a person must send to open or answer a ticket, checked the same way for the portal's
forms and the JSON API before anything is stored or reaches the workflow.

Errors are per field, as msgids (`InputError`): the portal shows them next to the field with the
input kept, the API lists them in its problem body.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.access import Principal
from api.identity.accounts import InputError
from api.tickets import author_of
from db.models import Customer, TicketCategory
from db.queries.tickets import Choice, category_choices
from i18n import N_
from workflows.ticket_messages import Attachment, OpenTicket
from workflows.ticket_rules import PRIORITIES

SUBJECT_LIMIT = 200  # the column's size
BODY_LIMIT = 10_000  # a message longer than this is a file: attach it

SUBJECT_REQUIRED = N_("Say in a few words what the ticket is about.")
SUBJECT_TOO_LONG = N_("At most %(limit)s characters.")
BODY_REQUIRED = N_("Describe your request.")
BODY_TOO_LONG = N_("At most %(limit)s characters; attach longer texts as a file.")
UNKNOWN_PRIORITY = N_("Choose one of the listed priorities.")
UNKNOWN_CATEGORY = N_("Choose one of the listed categories.")
CUSTOMER_REQUIRED = N_("Choose the customer this ticket is for.")

# Client-chosen keys (a form's hidden request id, an Idempotency-Key header) become ticket and
# message ids, and opening a ticket whose id exists answers with that ticket (USE_EXISTING).
# Hashed with the caller's user id, a key names something only among the caller's own requests:
# someone else's key, even a leaked ticket id, can never reach another person's ticket.
_REQUEST_KEYS = uuid.UUID("6f1c8a52-0b7e-4d55-9a0e-3c2f1b7d9e41")


def request_key(principal: Principal, raw: str | None, *within: object) -> str:
    """The id for the caller's request `raw` (within a ticket, say); a fresh one when the
    client sent none, so that request simply has no retry protection."""
    key = (raw or "").strip()
    if not key:
        return str(uuid.uuid4())
    parts = [str(principal.user_id), *(str(item) for item in within), key]
    return str(uuid.uuid5(_REQUEST_KEYS, "\x1f".join(parts)))


def _clean(text: str) -> str:
    # PostgreSQL text cannot hold NUL, and nobody types one.
    return text.replace("\x00", "")


def check_body(body: str, attachments: list | tuple = (), *, required: bool = True) -> str:
    """A message body: the text without NULs, at most BODY_LIMIT characters, present unless
    files come with it."""
    body = _clean(body).strip()
    if len(body) > BODY_LIMIT:
        raise InputError({"body": (BODY_TOO_LONG, {"limit": BODY_LIMIT})})
    if required and not body and not attachments:
        raise InputError({"body": (BODY_REQUIRED, {})})
    return body


async def customer_categories(db: AsyncSession) -> list[Choice]:
    """The categories a customer may choose: active ones whose parents are all active, depth
    first as in the back-office."""
    inactive = set(await db.scalars(select(TicketCategory.id).where(~TicketCategory.active)))
    chosen: list[Choice] = []
    hidden_below: int | None = None  # depth of the inactive category being skipped
    for choice in await category_choices(db):
        if hidden_below is not None and choice.depth > hidden_below:
            continue
        hidden_below = choice.depth if choice.id in inactive else None
        if hidden_below is None:
            chosen.append(choice)
    return chosen


async def _category_id(db: AsyncSession, raw: str | None) -> str | None:
    if not raw:
        return None
    try:
        key = uuid.UUID(str(raw))
    except ValueError:
        raise InputError({"category_id": (UNKNOWN_CATEGORY, {})}) from None
    if key not in {choice.id for choice in await customer_categories(db)}:
        raise InputError({"category_id": (UNKNOWN_CATEGORY, {})})
    return str(key)


async def _customer_id(db: AsyncSession, principal: Principal, raw: str | None) -> str:
    """A customer's tickets are always their own company's, whatever they send; staff name the
    customer (an unknown one is an input error, not a 404: there is no ticket yet)."""
    if not principal.is_staff:
        if principal.customer_id is None:
            raise InputError({"customer_id": (CUSTOMER_REQUIRED, {})})
        return str(principal.customer_id)
    try:
        key = uuid.UUID(str(raw))
    except ValueError:
        raise InputError({"customer_id": (CUSTOMER_REQUIRED, {})}) from None
    if await db.get(Customer, key) is None:
        raise InputError({"customer_id": (CUSTOMER_REQUIRED, {})})
    return str(key)


async def new_ticket(
    db: AsyncSession,
    principal: Principal,
    *,
    request_id: str,
    subject: str,
    body: str,
    priority: str,
    category_id: str | None,
    channel: str,
    attachments: list[Attachment] | None = None,
    customer_id: str | None = None,
    locale: str = "fr",
) -> OpenTicket:
    """The `OpenTicket` for `api.tickets.open_ticket`, or `InputError` naming every field that
    is wrong (all of them at once, so a form is corrected in one go)."""
    errors: dict[str, tuple[str, dict[str, object]]] = {}
    subject = " ".join(_clean(subject).split())
    if not subject:
        errors["subject"] = (SUBJECT_REQUIRED, {})
    elif len(subject) > SUBJECT_LIMIT:
        errors["subject"] = (SUBJECT_TOO_LONG, {"limit": SUBJECT_LIMIT})
    if priority not in PRIORITIES:
        errors["priority"] = (UNKNOWN_PRIORITY, {})
    text = category = customer = None
    try:
        text = check_body(body, attachments or [])
    except InputError as problem:
        errors.update(problem.errors)
    try:
        category = await _category_id(db, category_id)
    except InputError as problem:
        errors.update(problem.errors)
    try:
        customer = await _customer_id(db, principal, customer_id)
    except InputError as problem:
        errors.update(problem.errors)
    if errors:
        raise InputError(errors)
    return OpenTicket(
        ticket_id=request_id,
        subject=subject,
        body=text or "",
        customer_id=customer or "",
        requester=author_of(principal),
        channel=channel,
        priority=priority,
        category_id=category,
        attachments=list(attachments or []),
        locale=locale,
    )
