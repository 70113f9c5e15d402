"""One ticket in the customer portal, through the real app and TicketWorkflow: the conversation
without internal notes, replies with files, close ("my problem is solved") and reopen, a reply
after the reopen window opening a linked ticket, and another company's ticket answering 404."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from api import tickets
from db.models import Ticket, TicketMessage
from tests.support.accounts import csrf_token
from tests.support.attachments import png
from tests.support.portal_tickets import (
    category_closing_at_once,
    open_through_portal,
    owner_and_company,
)
from workflows.ticket_messages import AddNote, Author, Reply
from workflows.tickets import TicketWorkflow

AGENT = Author(None, "Amina Support", "agent")


async def _opened(signed_in, sessionmaker, **options):
    owner, _ = await owner_and_company(signed_in, sessionmaker)
    answer = await open_through_portal(owner, **options)
    assert answer.status_code == 303, answer.text[:300]
    return owner, answer.headers["location"]


async def _post(client, path: str, data: dict | None = None, files=None):
    token = await csrf_token(client, "/portal")
    return await client.post(path, data={"csrf_token": token, **(data or {})}, files=files)


def _id(path: str) -> str:
    return path.rsplit("/", 1)[1]


async def test_the_page_shows_the_conversation_without_internal_notes(
    signed_in, sessionmaker, temporal_client
):
    owner, path = await _opened(signed_in, sessionmaker, body="Ma question")
    note = AddNote(str(uuid.uuid4()), AGENT, "Client difficile, voir contrat")
    await tickets.update(temporal_client, _id(path), TicketWorkflow.add_note, note)
    answer = Reply(str(uuid.uuid4()), AGENT, "Nous regardons.")
    await tickets.update(temporal_client, _id(path), TicketWorkflow.reply, answer)

    page = await owner.get(path)

    assert "Ma question" in page.text and "Nous regardons." in page.text
    assert "Client difficile" not in page.text
    assert "Internal note" not in page.text


async def test_a_message_is_escaped_and_keeps_its_line_breaks(signed_in, sessionmaker):
    owner, path = await _opened(signed_in, sessionmaker, body="<script>alert(1)</script>\nligne 2")

    page = await owner.get(path)

    assert "&lt;script&gt;alert(1)&lt;/script&gt;\nligne 2</div>" in page.text
    assert "<script>alert(1)" not in page.text


@pytest.mark.parametrize("action", ["", "/reply", "/close", "/reopen"])
async def test_another_companys_ticket_answers_404(signed_in, sessionmaker, action):
    _, path = await _opened(signed_in, sessionmaker)
    stranger, _ = await owner_and_company(signed_in, sessionmaker)

    if action:
        answer = await _post(stranger, path + action, {"body": "x"})
    else:
        answer = await stranger.get(path)

    assert answer.status_code == 404


async def test_the_customer_closes_the_ticket_when_solved(signed_in, sessionmaker):
    owner, path = await _opened(signed_in, sessionmaker)

    answer = await _post(owner, path + "/close", {"request_id": str(uuid.uuid4())})

    assert answer.status_code == 303
    async with sessionmaker() as db:
        ticket = await db.get(Ticket, uuid.UUID(_id(path)))
    assert ticket.status == "closed"
    page = await owner.get(path)
    assert "You can reopen this ticket until" in page.text
    assert "My problem is solved" not in page.text


async def test_the_customer_reopens_a_closed_ticket_within_the_window(signed_in, sessionmaker):
    owner, path = await _opened(signed_in, sessionmaker)
    await _post(owner, path + "/close", {"request_id": str(uuid.uuid4())})

    answer = await _post(owner, path + "/reopen", {"request_id": str(uuid.uuid4())})

    assert answer.status_code == 303
    async with sessionmaker() as db:
        ticket = await db.get(Ticket, uuid.UUID(_id(path)))
    assert ticket.status == "open"


async def test_an_empty_reply_is_explained_and_sends_nothing(signed_in, sessionmaker):
    owner, path = await _opened(signed_in, sessionmaker)

    answer = await _post(owner, path + "/reply", {"request_id": str(uuid.uuid4()), "body": " "})

    assert answer.status_code == 422
    assert 'id="reply-body-error"' in answer.text
    async with sessionmaker() as db:
        count = await db.scalar(
            select(func.count())
            .select_from(TicketMessage)
            .where(TicketMessage.ticket_id == uuid.UUID(_id(path)))
        )
    assert count == 1


async def test_a_reply_with_a_file_joins_the_conversation(signed_in, sessionmaker):
    owner, path = await _opened(signed_in, sessionmaker)
    request_id = str(uuid.uuid4())

    answer = await _post(
        owner, path + "/reply", {"request_id": request_id, "body": "Voici la capture"},
        files=[("attachments", ("capture.png", png(), "image/png"))],
    )  # fmt: skip

    assert answer.status_code == 303
    assert answer.headers["location"].startswith(f"{path}#message-")
    page = await owner.get(path)
    assert "Voici la capture" in page.text and "capture.png" in page.text


async def test_with_htmx_closing_answers_the_ticket_block_with_its_new_status(
    signed_in, sessionmaker
):
    owner, path = await _opened(signed_in, sessionmaker)
    token = await csrf_token(owner, "/portal")

    answer = await owner.post(
        path + "/close",
        data={"csrf_token": token, "request_id": str(uuid.uuid4())},
        headers={"HX-Request": "true"},
    )

    assert answer.status_code == 200
    assert "<html" not in answer.text
    assert 'hx-swap-oob="true"' in answer.text and "The ticket is closed" in answer.text
    assert "badge-state-resolved" in answer.text and "Reopen the ticket" in answer.text


async def test_a_reply_after_the_reopen_window_opens_a_linked_ticket(signed_in, sessionmaker):
    category = await category_closing_at_once(sessionmaker)
    owner, path = await _opened(signed_in, sessionmaker, category_id=str(category.id))
    await _post(owner, path + "/close", {"request_id": str(uuid.uuid4())})
    closed_page = await owner.get(path)

    answer = await _post(
        owner, path + "/reply", {"request_id": str(uuid.uuid4()), "body": "Encore"}
    )

    assert "Your message will open a new ticket" in closed_page.text
    assert answer.status_code == 303
    new_path = answer.headers["location"]
    assert new_path != path
    async with sessionmaker() as db:
        follow_up = await db.get(Ticket, uuid.UUID(_id(new_path)))
        old = await db.get(Ticket, uuid.UUID(_id(path)))
    assert follow_up.follow_up_of_id == old.id and old.status == "closed"
    new_page = await owner.get(new_path)
    assert "Encore" in new_page.text and old.number in new_page.text
    assert follow_up.number in (await owner.get(path)).text
