"""The back-office ticket page over real HTTP, tickets opened through their real workflow: what
it shows (the timeline with notes, events and emails; the live SLA badge; who else is on the
ticket), what a read-only role gets, and the PDF export."""

from __future__ import annotations

import asyncio
import re
import subprocess
import uuid
from datetime import timedelta

from sqlalchemy import select, update

from api import tickets
from db.models import EmailOutbox, TicketPresence
from tests.support.admin import audit_events
from tests.support.staff_tickets import EN, open_ticket, post_form
from workflows.ticket_messages import AddNote, Author, SetStatus
from workflows.tickets import TicketWorkflow


def _author(client) -> Author:
    return Author(str(client.person.user.id), client.person.user.full_name, "agent")


async def test_the_page_shows_the_conversation_with_internal_notes_marked(
    signed_in, sessionmaker, settings, temporal_client, worker
):
    agent = await signed_in("agent")
    view = await open_ticket(temporal_client, settings, sessionmaker)
    await tickets.update(
        temporal_client, view.ticket_id, TicketWorkflow.add_note,
        AddNote(str(uuid.uuid4()), _author(agent), "Disque plein sur le nœud 3."),
    )  # fmt: skip

    page = await agent.get(f"/staff/tickets/{view.ticket_id}", headers=EN)

    assert page.status_code == 200
    assert "Notre VPS ne répond plus depuis ce matin." in page.text
    note = page.text.split("Disque plein sur le nœud 3.")[0].rsplit("<article", 1)[1]
    assert "message-internal" in note and "Internal note" in note


async def test_the_timeline_names_status_changes_and_who_made_them(
    signed_in, sessionmaker, settings, temporal_client, worker
):
    agent = await signed_in("agent")
    view = await open_ticket(temporal_client, settings, sessionmaker)
    await tickets.update(
        temporal_client, view.ticket_id, TicketWorkflow.set_status,
        SetStatus(str(uuid.uuid4()), _author(agent), "on_hold"),
    )  # fmt: skip

    page = await agent.get(f"/staff/tickets/{view.ticket_id}", headers=EN)

    line = re.search(r"Status: Open → On hold</span>\s*<span[^>]*>([^<]*)</span>", page.text)
    assert line and line.group(1) == agent.person.user.full_name


async def test_the_timeline_shows_the_emails_sent_and_their_delivery(
    signed_in, sessionmaker, settings, temporal_client, worker, smtp_sink
):
    agent = await signed_in("agent")
    view = await open_ticket(
        temporal_client, settings, sessionmaker, agent_ids=[str(agent.person.user.id)]
    )
    # The assignment tells the agent by email, in the background.
    await smtp_sink.wait_for(agent.person.email)
    for _ in range(50):
        async with sessionmaker() as db:
            email = await db.scalar(
                select(EmailOutbox).where(EmailOutbox.subject_id == view.ticket_id)
            )
        if email is not None and email.status.value == "sent":
            break
        await asyncio.sleep(0.1)

    page = await agent.get(f"/staff/tickets/{view.ticket_id}", headers=EN)

    entry = page.text.split(f"Email to {agent.person.email}", 1)[1][:400]
    assert "badge-email-sent" in entry and ">Sent<" in entry


async def test_an_unknown_ticket_is_not_found(signed_in):
    agent = await signed_in("agent")

    for path in (f"/staff/tickets/{uuid.uuid4()}", "/staff/tickets/not-an-id"):
        assert (await agent.get(path, headers=EN)).status_code == 404


async def test_the_sla_badge_answers_its_own_polling_with_only_itself(
    signed_in, sessionmaker, settings, temporal_client, worker
):
    agent = await signed_in("agent")
    view = await open_ticket(temporal_client, settings, sessionmaker)

    badge = await agent.get(
        f"/staff/tickets/{view.ticket_id}",
        headers={**EN, "HX-Request": "true", "HX-Target": "ticket-sla"},
    )

    assert badge.status_code == 200
    assert badge.text.strip().startswith('<span class="badge badge-sla badge-ok"')
    assert "left" in badge.text and "<html" not in badge.text


async def test_an_agent_sees_that_a_colleague_is_viewing_the_ticket(
    signed_in, sessionmaker, settings, temporal_client, worker
):
    agent = await signed_in("agent")
    colleague = await signed_in("agent")
    view = await open_ticket(temporal_client, settings, sessionmaker)
    await colleague.get(f"/staff/tickets/{view.ticket_id}", headers=EN)

    page = await agent.get(f"/staff/tickets/{view.ticket_id}", headers=EN)

    assert f"{colleague.person.user.full_name} is viewing this ticket." in page.text


async def test_an_agent_sees_that_a_colleague_is_replying(
    signed_in, sessionmaker, settings, temporal_client, worker
):
    agent = await signed_in("agent")
    colleague = await signed_in("agent")
    view = await open_ticket(temporal_client, settings, sessionmaker)
    presence = f"/staff/tickets/{view.ticket_id}/presence"
    htmx = {**EN, "HX-Request": "true", "X-CSRF-Token": colleague.cookies["csrftoken"]}
    await colleague.post(presence + "?activity=replying", headers=htmx)
    # The colleague's page keeps beating "viewing" while the reply box is being typed in.
    await colleague.post(presence, headers=htmx)

    fragment = await agent.post(
        presence, headers={**EN, "HX-Request": "true", "X-CSRF-Token": agent.cookies["csrftoken"]}
    )

    assert fragment.text.strip().startswith('<p class="presence-item presence-replying">')
    assert f"{colleague.person.user.full_name} is replying to this ticket." in fragment.text


async def test_a_colleague_not_seen_for_a_minute_is_no_longer_shown(
    signed_in, sessionmaker, settings, temporal_client, worker
):
    agent = await signed_in("agent")
    colleague = await signed_in("agent")
    view = await open_ticket(temporal_client, settings, sessionmaker)
    await colleague.get(f"/staff/tickets/{view.ticket_id}", headers=EN)
    async with sessionmaker() as db, db.begin():
        await db.execute(
            update(TicketPresence)
            .where(TicketPresence.user_id == colleague.person.user.id)
            .values(seen_at=TicketPresence.seen_at - timedelta(minutes=2))
        )

    page = await agent.get(f"/staff/tickets/{view.ticket_id}", headers=EN)

    assert "is viewing this ticket." not in page.text


async def test_opening_another_ticket_clears_the_agents_stale_presence_rows(
    signed_in, sessionmaker, settings, temporal_client, worker
):
    agent = await signed_in("agent")
    earlier = await open_ticket(temporal_client, settings, sessionmaker)
    now_on = await open_ticket(temporal_client, settings, sessionmaker)
    await agent.get(f"/staff/tickets/{earlier.ticket_id}", headers=EN)
    async with sessionmaker() as db, db.begin():
        await db.execute(
            update(TicketPresence)
            .where(TicketPresence.user_id == agent.person.user.id)
            .values(seen_at=TicketPresence.seen_at - timedelta(minutes=2))
        )

    await agent.get(f"/staff/tickets/{now_on.ticket_id}", headers=EN)

    async with sessionmaker() as db:
        rows = await db.scalars(
            select(TicketPresence.ticket_id).where(TicketPresence.user_id == agent.person.user.id)
        )
        assert [str(ticket_id) for ticket_id in rows] == [now_on.ticket_id]


async def test_a_read_only_role_sees_the_ticket_without_forms_and_cannot_reply(
    signed_in, sessionmaker, settings, temporal_client, worker
):
    sales = await signed_in("sales")  # tickets.view only
    view = await open_ticket(temporal_client, settings, sessionmaker)

    page = await sales.get(f"/staff/tickets/{view.ticket_id}", headers=EN)
    answer = await post_form(sales, f"/staff/tickets/{view.ticket_id}/reply", {"body": "Hi"})

    assert page.status_code == 200 and "Serveur inaccessible" in page.text
    assert 'action="/staff/tickets/' + view.ticket_id + '/reply"' not in page.text
    assert 'action="/staff/tickets/' + view.ticket_id + '/priority"' not in page.text
    assert answer.status_code == 403


async def test_the_pdf_export_holds_the_conversation_with_notes_marked_internal(
    signed_in, sessionmaker, settings, temporal_client, worker, tmp_path
):
    agent = await signed_in("agent")
    view = await open_ticket(temporal_client, settings, sessionmaker)
    await tickets.update(
        temporal_client, view.ticket_id, TicketWorkflow.add_note,
        AddNote(str(uuid.uuid4()), _author(agent), "Redémarrage prévu à 22 h."),
    )  # fmt: skip

    answer = await agent.get(f"/staff/tickets/{view.ticket_id}/export.pdf", headers=EN)

    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/pdf"
    assert answer.headers["content-disposition"] == f'attachment; filename="{view.number}.pdf"'
    (tmp_path / "ticket.pdf").write_bytes(answer.content)
    pdftotext = ["pdftotext", "-layout", str(tmp_path / "ticket.pdf"), "-"]
    done = await asyncio.to_thread(subprocess.run, pdftotext, capture_output=True, check=True)
    text = done.stdout.decode()
    assert view.number in text and "Serveur inaccessible" in text
    assert "Notre VPS ne répond plus depuis ce matin." in text
    note = text.split("Redémarrage prévu à 22 h.")[0][-300:]
    assert "Internal note" in note
    [event] = await audit_events(sessionmaker, "ticket.exported", view.ticket_id)
    assert event.actor_id == agent.person.user.id


async def test_the_panel_lists_the_sla_deadlines_still_running(
    signed_in, sessionmaker, settings, temporal_client, worker
):
    agent = await signed_in("agent")
    view = await open_ticket(temporal_client, settings, sessionmaker)

    page = await agent.get(f"/staff/tickets/{view.ticket_id}", headers=EN)

    panel = page.text.split('id="panel-sla"', 1)[1].split("</section>", 1)[0]
    assert "First response" in panel and "Resolution" in panel
    assert panel.count(" left</time>") == 2  # the desk's policy: first response and resolution
