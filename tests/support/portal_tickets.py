"""Customers and their tickets for the portal and API tests: a signed-in company owner, a ticket
opened through the real "New ticket" form (so through the workflow), real API tokens."""

from __future__ import annotations

import uuid

import httpx

from api.identity import api_tokens
from db.models import Customer, SupportGroup, TicketCategory, User
from tests.support.accounts import csrf_token


async def owner_and_company(signed_in, sessionmaker, role: str = "customer_owner"):
    """A signed-in customer user (a new company of their own) and that company."""
    client = await signed_in(role)
    async with sessionmaker() as db:
        company = await db.get(Customer, client.person.user.customer_id)
    return client, company


async def open_through_portal(
    client: httpx.AsyncClient,
    *,
    subject: str = "Le serveur ne répond plus",
    body: str = "Depuis ce matin, plus rien.",
    priority: str = "medium",
    files: list[tuple[str, bytes]] = (),  # type: ignore[assignment]
    request_id: str | None = None,
    **fields: str,
) -> httpx.Response:
    """POST /portal/tickets as the form does; the answer (303 to the ticket, or 422)."""
    data = {
        "csrf_token": await csrf_token(client, "/portal/tickets/new"),
        "request_id": request_id or str(uuid.uuid4()),
        "subject": subject,
        "body": body,
        "priority": priority,
        **fields,
    }
    parts = [
        ("attachments", (name, content, "application/octet-stream")) for name, content in files
    ]
    return await client.post("/portal/tickets", data=data, files=parts or None)


async def bearer(sessionmaker, user, *scopes: str) -> dict[str, str]:
    """Headers with a real personal API token of `user` carrying `scopes` (within their roles)."""
    async with sessionmaker() as db, db.begin():
        secret, _ = await api_tokens.create_personal_token(
            db, await db.get(User, user.id), "tests", frozenset(scopes), None
        )
    return {"Authorization": f"Bearer {secret}"}


async def category_closing_at_once(sessionmaker) -> TicketCategory:
    """An active category routed to a group whose tickets cannot be reopened once closed (a
    reopen window of 0 days): a reply to a closed ticket then opens a follow-up."""
    async with sessionmaker() as db, db.begin():
        group = SupportGroup(name=f"No reopening {uuid.uuid4().hex[:8]}", reopen_window_days=0)
        db.add(group)
        await db.flush()
        category = TicketCategory(name=f"Final {uuid.uuid4().hex[:8]}", group_id=group.id)
        db.add(category)
    return category
