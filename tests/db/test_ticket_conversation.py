"""The conversation query every ticket page reads: messages in order with their own files,
internal notes only when asked for, timeline events only when asked for."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from db.models import TicketAttachment, TicketEvent, TicketMessage
from db.queries.ticket_conversation import load_conversation, ticket_messages
from tests.support.ticket_rows import make_customer, make_ticket

START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


async def _message(db, ticket_id, minutes: int, body: str, *, internal=False, files=()):
    message = TicketMessage(
        id=uuid.uuid4(), ticket_id=ticket_id, author_name="Amina", internal=internal,
        author_kind="agent" if internal else "customer", body=body,
        channel="staff" if internal else "portal", created_at=START + timedelta(minutes=minutes),
    )  # fmt: skip
    db.add(message)
    await db.flush()
    for name in files:
        db.add(
            TicketAttachment(
                id=uuid.uuid4(), ticket_id=ticket_id, message_id=message.id, sha256="0" * 64,
                filename=name, content_type="text/plain", size=3,
            )
        )  # fmt: skip
    return message


async def _ticket_with_conversation(sessionmaker):
    """Messages written out of order: a reply at 10 min, the opening at 0, a note at 5."""
    ticket = await make_ticket(sessionmaker, await make_customer(sessionmaker))
    async with sessionmaker() as db, db.begin():
        await _message(db, ticket.id, 10, "Second", files=["b.txt", "a.txt"])
        await _message(db, ticket.id, 0, "First")
        await _message(db, ticket.id, 5, "Secret", internal=True, files=["note.txt"])
        db.add(
            TicketEvent(
                id=uuid.uuid4(), ticket_id=ticket.id, kind="status_changed", actor_name="Amina",
                data={"before": "open", "after": "answered"}, created_at=START,
            )
        )  # fmt: skip
    return ticket


async def test_messages_come_oldest_first_with_their_own_attachments(sessionmaker):
    ticket = await _ticket_with_conversation(sessionmaker)
    async with sessionmaker() as db:
        messages = await ticket_messages(db, ticket.id)
    assert [m.body for m in messages] == ["First", "Second"]
    assert messages[0].attachments == []
    assert [a.filename for a in messages[1].attachments] == ["a.txt", "b.txt"]


async def test_internal_notes_are_left_out_unless_asked_for(sessionmaker):
    ticket = await _ticket_with_conversation(sessionmaker)
    async with sessionmaker() as db:
        public = await load_conversation(db, ticket.id)
        staff = await load_conversation(db, ticket.id, include_internal=True)
    assert "Secret" not in [m.body for m in public.messages]
    assert [m.body for m in staff.messages] == ["First", "Secret", "Second"]
    assert staff.messages[1].internal
    assert [a.filename for a in staff.messages[1].attachments] == ["note.txt"]


async def test_timeline_events_are_read_only_when_asked_for(sessionmaker):
    ticket = await _ticket_with_conversation(sessionmaker)
    async with sessionmaker() as db:
        without = await load_conversation(db, ticket.id, include_internal=True)
        with_events = await load_conversation(
            db, ticket.id, include_internal=True, include_events=True
        )
    assert without.events == []
    assert [e.kind for e in with_events.events] == ["status_changed"]
    assert with_events.events[0].data == {"before": "open", "after": "answered"}


async def test_timeline_puts_a_message_before_the_events_of_the_same_instant(sessionmaker):
    ticket = await _ticket_with_conversation(sessionmaker)
    async with sessionmaker() as db:
        conversation = await load_conversation(db, ticket.id, include_events=True)
    kinds = [getattr(entry, "kind", "message") for entry in conversation.timeline()]
    assert kinds == ["message", "status_changed", "message"]
