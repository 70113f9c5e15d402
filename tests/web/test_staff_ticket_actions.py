"""What an agent does from the ticket page, through the real forms, the ticket's real workflow
and the real database: reply (with a status and files, once however often it is submitted),
internal notes that notify the colleagues they mention, canned replies, the properties panel,
watchers, and merging."""

from __future__ import annotations

import re
import uuid

from sqlalchemy import func, select

from api import tickets
from db.models import CannedReply, Customer, Ticket, TicketAttachment, TicketMessage, TicketWatcher
from tests.support.attachments import png
from tests.support.desks import make_desk
from tests.support.staff_tickets import EN, open_ticket, post_form
from workflows.ticket_messages import Author, SetStatus
from workflows.tickets import TicketWorkflow


async def _row(sessionmaker, ticket_id: str) -> Ticket:
    async with sessionmaker() as db:
        return await db.get(Ticket, uuid.UUID(ticket_id))


async def _messages(sessionmaker, ticket_id: str) -> list[TicketMessage]:
    async with sessionmaker() as db:
        rows = await db.scalars(
            select(TicketMessage)
            .where(TicketMessage.ticket_id == uuid.UUID(ticket_id))
            .order_by(TicketMessage.created_at)
        )
        return list(rows)


def _textarea(page: str, field_id: str) -> str:
    found = re.search(rf'<textarea id="{field_id}"[^>]*>(.*?)</textarea>', page, re.S)
    assert found, f"no textarea {field_id}"
    return found.group(1)


async def test_a_reply_with_a_file_and_a_status_reaches_the_conversation(
    signed_in, sessionmaker, settings, temporal_client, worker
):
    agent = await signed_in("agent")
    view = await open_ticket(temporal_client, settings, sessionmaker)

    answer = await post_form(
        agent, f"/staff/tickets/{view.ticket_id}/reply",
        {"body": "Voici la capture demandée.", "set_status": "waiting_on_customer"},
        files=[("attachments", ("capture.png", png(), "image/png"))],
    )  # fmt: skip

    assert answer.status_code == 303
    reply = (await _messages(sessionmaker, view.ticket_id))[-1]
    assert answer.headers["location"].endswith(f"#message-{reply.id}")
    assert reply.body == "Voici la capture demandée." and not reply.internal
    assert (await _row(sessionmaker, view.ticket_id)).status == "waiting_on_customer"
    async with sessionmaker() as db:
        [file] = await db.scalars(
            select(TicketAttachment).where(TicketAttachment.message_id == reply.id)
        )
    assert file.filename == "capture.png"


async def test_a_reply_submitted_twice_is_sent_once(
    signed_in, sessionmaker, settings, temporal_client, worker
):
    agent = await signed_in("agent")
    view = await open_ticket(temporal_client, settings, sessionmaker)
    form = {"body": "Une seule fois.", "request_id": str(uuid.uuid4())}

    first = await post_form(agent, f"/staff/tickets/{view.ticket_id}/reply", form)
    second = await post_form(agent, f"/staff/tickets/{view.ticket_id}/reply", form)

    assert first.headers["location"] == second.headers["location"]
    bodies = [message.body for message in await _messages(sessionmaker, view.ticket_id)]
    assert bodies.count("Une seule fois.") == 1


async def test_an_empty_reply_is_refused_next_to_the_box(
    signed_in, sessionmaker, settings, temporal_client, worker
):
    agent = await signed_in("agent")
    view = await open_ticket(temporal_client, settings, sessionmaker)

    answer = await post_form(agent, f"/staff/tickets/{view.ticket_id}/reply", {"body": "   "})

    assert answer.status_code == 422
    assert 'id="reply-body-error"' in answer.text
    assert len(await _messages(sessionmaker, view.ticket_id)) == 1


async def test_a_reply_the_workflow_refuses_keeps_the_text_and_says_why(
    signed_in, sessionmaker, settings, temporal_client, worker
):
    agent = await signed_in("agent")
    view = await open_ticket(temporal_client, settings, sessionmaker)
    author = Author(str(agent.person.user.id), "Agent", "agent")
    await tickets.update(
        temporal_client, view.ticket_id, TicketWorkflow.set_status,
        SetStatus(str(uuid.uuid4()), author, "closed"),
    )  # fmt: skip

    answer = await post_form(
        agent, f"/staff/tickets/{view.ticket_id}/reply", {"body": "Trop tard ?"}
    )

    assert answer.status_code == 422
    assert "This ticket is closed." in answer.text
    assert _textarea(answer.text, "reply-body") == "Trop tard ?"


async def test_a_note_stays_internal_and_emails_the_colleague_it_mentions(
    signed_in, sessionmaker, settings, temporal_client, worker, smtp_sink
):
    agent = await signed_in("agent")
    colleague = await signed_in("agent")
    handle = colleague.person.email.split("@")[0]
    view = await open_ticket(temporal_client, settings, sessionmaker)

    answer = await post_form(
        agent, f"/staff/tickets/{view.ticket_id}/note", {"body": f"@{handle} peux-tu regarder ?"}
    )

    assert answer.status_code == 303
    note = (await _messages(sessionmaker, view.ticket_id))[-1]
    assert note.internal and note.body.endswith("peux-tu regarder ?")
    [mail] = await smtp_sink.wait_for(colleague.person.email)
    assert view.number in mail.message["Subject"]


async def test_a_canned_reply_fills_the_reply_box_without_javascript_and_counts_its_use(
    signed_in, sessionmaker, settings, temporal_client, worker, unique
):
    agent = await signed_in("agent")
    view = await open_ticket(temporal_client, settings, sessionmaker)
    async with sessionmaker() as db, db.begin():
        reply = CannedReply(
            title=f"Prise en charge {unique}",
            body="Bonjour {{ customer.name }}, le ticket {{ ticket.number }} est pris en charge."
            "\n{{ agent.name }}",
        )
        db.add(reply)

    page = await agent.get(
        f"/staff/tickets/{view.ticket_id}", params={"canned": str(reply.id)}, headers=EN
    )

    company = (await _row(sessionmaker, view.ticket_id)).customer_id
    async with sessionmaker() as db:
        name = (await db.get(Customer, company)).name
    assert _textarea(page.text, "reply-body") == (
        f"Bonjour {name}, le ticket {view.number} est pris en charge."
        f"\n{agent.person.user.full_name}"
    )
    async with sessionmaker() as db:
        assert (await db.get(CannedReply, reply.id)).usage_count == 1


async def test_htmx_adds_a_canned_reply_after_what_is_already_typed(
    signed_in, sessionmaker, settings, temporal_client, worker, unique
):
    agent = await signed_in("agent")
    view = await open_ticket(temporal_client, settings, sessionmaker)
    async with sessionmaker() as db, db.begin():
        reply = CannedReply(title=f"Signature {unique}", body="Cordialement,\n{{ agent.name }}")
        db.add(reply)

    answer = await agent.post(
        f"/staff/tickets/{view.ticket_id}/canned",
        data={"canned": str(reply.id), "body": "Le serveur est reparti."},
        headers={**EN, "HX-Request": "true", "X-CSRF-Token": agent.cookies["csrftoken"]},
    )

    assert answer.text.strip().startswith('<textarea id="reply-body"')
    assert _textarea(answer.text, "reply-body") == (
        f"Le serveur est reparti.\n\nCordialement,\n{agent.person.user.full_name}"
    )


async def test_the_status_form_changes_the_status(
    signed_in, sessionmaker, settings, temporal_client, worker
):
    agent = await signed_in("agent")
    view = await open_ticket(temporal_client, settings, sessionmaker)

    answer = await post_form(
        agent, f"/staff/tickets/{view.ticket_id}/status", {"status": "on_hold"}
    )

    assert answer.status_code == 303
    assert (await _row(sessionmaker, view.ticket_id)).status == "on_hold"


async def test_a_status_change_the_workflow_refuses_is_explained_next_to_the_form(
    signed_in, sessionmaker, settings, temporal_client, worker
):
    agent = await signed_in("agent")
    view = await open_ticket(temporal_client, settings, sessionmaker)
    await post_form(agent, f"/staff/tickets/{view.ticket_id}/status", {"status": "resolved"})

    answer = await post_form(
        agent, f"/staff/tickets/{view.ticket_id}/status", {"status": "in_progress"}
    )

    assert answer.status_code == 422
    assert (
        '<p class="field-error" id="panel-status-error" role="alert">'
        "This status change is not possible from the ticket&#39;s status.</p>"
    ) in answer.text
    assert (await _row(sessionmaker, view.ticket_id)).status == "resolved"


async def test_a_resolved_ticket_is_reopened_from_the_panel(
    signed_in, sessionmaker, settings, temporal_client, worker
):
    agent = await signed_in("agent")
    view = await open_ticket(temporal_client, settings, sessionmaker)
    await post_form(agent, f"/staff/tickets/{view.ticket_id}/status", {"status": "resolved"})

    answer = await post_form(agent, f"/staff/tickets/{view.ticket_id}/reopen")

    assert answer.status_code == 303
    assert (await _row(sessionmaker, view.ticket_id)).status == "open"


async def test_priority_and_category_forms_change_them(
    signed_in, sessionmaker, settings, temporal_client, worker
):
    from tests.support.ticket_rows import make_category

    agent = await signed_in("agent")
    view = await open_ticket(temporal_client, settings, sessionmaker)
    category = await make_category(sessionmaker)

    await post_form(agent, f"/staff/tickets/{view.ticket_id}/priority", {"priority": "urgent"})
    await post_form(
        agent, f"/staff/tickets/{view.ticket_id}/category", {"category": str(category.id)}
    )

    row = await _row(sessionmaker, view.ticket_id)
    assert row.priority == "urgent" and row.category_id == category.id


async def test_assigning_gives_the_ticket_to_the_group_and_agent_chosen(
    signed_in, sessionmaker, settings, temporal_client, worker
):
    lead = await signed_in("team_lead")
    colleague = await signed_in("agent")
    view = await open_ticket(temporal_client, settings, sessionmaker)
    other = await make_desk(sessionmaker)

    answer = await post_form(
        lead, f"/staff/tickets/{view.ticket_id}/assign",
        {"group": other.group_id, "assignee": str(colleague.person.user.id)},
    )  # fmt: skip

    assert answer.status_code == 303
    row = await _row(sessionmaker, view.ticket_id)
    assert str(row.group_id) == other.group_id and row.assignee_id == colleague.person.user.id


async def test_assigning_to_someone_who_is_not_an_agent_is_refused(
    signed_in, sessionmaker, settings, temporal_client, worker
):
    lead = await signed_in("team_lead")
    customer = await signed_in("customer_owner")
    view = await open_ticket(temporal_client, settings, sessionmaker)

    answer = await post_form(
        lead, f"/staff/tickets/{view.ticket_id}/assign",
        {"assignee": str(customer.person.user.id)},
    )  # fmt: skip

    assert answer.status_code == 422
    assert 'id="panel-assign-error"' in answer.text
    assert (await _row(sessionmaker, view.ticket_id)).assignee_id is None


async def test_tags_are_typed_separated_by_commas(
    signed_in, sessionmaker, settings, temporal_client, worker
):
    agent = await signed_in("agent")
    view = await open_ticket(temporal_client, settings, sessionmaker)

    await post_form(agent, f"/staff/tickets/{view.ticket_id}/tags", {"tags": "vps, DNS , vps,"})

    assert (await _row(sessionmaker, view.ticket_id)).tags == ["DNS", "vps"]


async def test_a_tag_too_long_is_refused_with_the_input_kept(
    signed_in, sessionmaker, settings, temporal_client, worker
):
    agent = await signed_in("agent")
    view = await open_ticket(temporal_client, settings, sessionmaker)
    typed = "vps, " + "x" * 41

    answer = await post_form(agent, f"/staff/tickets/{view.ticket_id}/tags", {"tags": typed})

    assert answer.status_code == 422
    assert "Use at most 40 characters." in answer.text
    assert f'value="{typed}"' in answer.text


async def test_an_agent_follows_a_ticket_and_adds_and_removes_a_colleague(
    signed_in, sessionmaker, settings, temporal_client, worker
):
    agent = await signed_in("agent")
    colleague = await signed_in("agent")
    view = await open_ticket(temporal_client, settings, sessionmaker)
    path = f"/staff/tickets/{view.ticket_id}/watchers"

    await post_form(agent, path, {"user": str(agent.person.user.id), "watching": "on"})
    await post_form(agent, path, {"user": str(colleague.person.user.id), "watching": "on"})
    await post_form(agent, path, {"user": str(colleague.person.user.id), "watching": ""})

    async with sessionmaker() as db:
        watchers = set(
            await db.scalars(
                select(TicketWatcher.user_id).where(
                    TicketWatcher.ticket_id == uuid.UUID(view.ticket_id)
                )
            )
        )
    assert watchers == {agent.person.user.id}


async def test_merging_asks_first_then_moves_the_messages_and_closes_the_ticket(
    signed_in, sessionmaker, settings, temporal_client, worker
):
    agent = await signed_in("agent")
    desk = await make_desk(sessionmaker)
    merged = await open_ticket(temporal_client, settings, sessionmaker, desk=desk)
    kept = await open_ticket(temporal_client, settings, sessionmaker, desk=desk, subject="Panne")
    path = f"/staff/tickets/{merged.ticket_id}/merge"

    question = await post_form(agent, path, {"number": kept.number.lower()})
    assert question.status_code == 200
    assert f"into {kept.number} (Panne)?" in question.text
    assert (await _row(sessionmaker, merged.ticket_id)).merged_into_id is None

    answer = await post_form(agent, path, {"number": kept.number, "confirm": "yes"})

    assert answer.status_code == 303
    row = await _row(sessionmaker, merged.ticket_id)
    assert str(row.merged_into_id) == kept.ticket_id and row.status == "closed"
    assert len(await _messages(sessionmaker, kept.ticket_id)) == 2


async def test_a_ticket_cannot_be_merged_into_another_customers_ticket(
    signed_in, sessionmaker, settings, temporal_client, worker
):
    agent = await signed_in("agent")
    mine = await open_ticket(temporal_client, settings, sessionmaker)
    theirs = await open_ticket(temporal_client, settings, sessionmaker)

    answer = await post_form(
        agent, f"/staff/tickets/{mine.ticket_id}/merge",
        {"number": theirs.number, "confirm": "yes"},
    )  # fmt: skip

    assert answer.status_code == 422
    assert (
        "A ticket can only be merged into another open ticket of the same customer." in answer.text
    )
    async with sessionmaker() as db:
        count = await db.scalar(
            select(func.count()).where(TicketMessage.ticket_id == uuid.UUID(theirs.ticket_id))
        )
    assert count == 1 and (await _row(sessionmaker, mine.ticket_id)).merged_into_id is None


async def test_a_file_refused_by_its_content_is_explained_and_nothing_is_sent(
    signed_in, sessionmaker, settings, temporal_client, worker
):
    agent = await signed_in("agent")
    view = await open_ticket(temporal_client, settings, sessionmaker)

    answer = await post_form(
        agent, f"/staff/tickets/{view.ticket_id}/reply", {"body": "Voir la pièce jointe."},
        files=[("attachments", ("photo.png", b"MZ\x90\x00 not a picture", "image/png"))],
    )  # fmt: skip

    assert answer.status_code == 422
    assert "The content of photo.png does not match its extension." in answer.text
    assert _textarea(answer.text, "reply-body") == "Voir la pièce jointe."
    assert len(await _messages(sessionmaker, view.ticket_id)) == 1
