"""Issue 4's acceptance, in two real Chromium sessions at once: a customer opens a ticket with an
attachment in the portal; it is assigned to the category's group's agent on its own; the agent
answers with a canned reply; the customer sees the answer and gets it by email; the agent resolves
the ticket; the customer reopens it."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from sqlalchemy import select

from db.models import CannedReply, Ticket, TicketCategory
from tests.support.accounts import make_person
from tests.support.attachments import png
from tests.support.browser import browser_sign_in
from tests.support.desks import make_desk

pytestmark = pytest.mark.e2e


async def test_customer_and_agent_work_a_ticket_from_opening_to_reopening(
    browser, web_url, sessionmaker, settings, smtp_sink, worker, unique
):
    agent = await make_person(sessionmaker, settings, role="agent")
    customer = await make_person(sessionmaker, settings, role="customer_member")
    desk = await make_desk(
        sessionmaker, agent_ids=[str(agent.user.id)], customer_id=customer.user.customer_id
    )
    async with sessionmaker() as db, db.begin():
        category = TicketCategory(name=f"Hébergement {unique}", group_id=uuid.UUID(desk.group_id))
        canned = CannedReply(
            category="Support", title=f"Certificat renouvelé {unique}",
            body="Bonjour {{ customer.name }}, le certificat du ticket {{ ticket.number }} "
            "est renouvelé.",
        )  # fmt: skip
        db.add_all([category, canned])

    portal_context = await browser.new_context(base_url=web_url, locale="en-GB")
    desk_context = await browser.new_context(base_url=web_url, locale="en-GB")
    try:
        portal = await portal_context.new_page()
        await browser_sign_in(portal, customer)
        await portal.goto("/portal/tickets/new")
        await portal.get_by_label("Subject").fill("Certificat expiré")
        await portal.get_by_label("Category").select_option(label=category.name)
        await portal.get_by_label("Message").fill("Le navigateur refuse notre site.")
        await portal.get_by_label("Attachments").set_input_files(
            [{"name": "capture.png", "mimeType": "image/png", "buffer": png()}]
        )
        await portal.get_by_role("button", name="Open the ticket").click()
        await portal.wait_for_url("**/portal/tickets/*")
        ticket_id = portal.url.rstrip("/").rsplit("/", 1)[-1]

        async with sessionmaker() as db:
            ticket = await db.scalar(select(Ticket).where(Ticket.id == uuid.UUID(ticket_id)))
        assert ticket.assignee_id == agent.user.id  # assigned on its own, by the group's rule
        assert ticket.group_id == uuid.UUID(desk.group_id)

        staff = await desk_context.new_page()
        await browser_sign_in(staff, agent)
        await staff.goto("/staff/tickets?queue=mine")
        await staff.get_by_role("link", name=ticket.number).click()
        await staff.wait_for_url(f"**/staff/tickets/{ticket_id}")
        conversation = staff.locator("article.message", has_text="Le navigateur refuse")
        await conversation.get_by_role("link", name="Download capture.png").wait_for()

        await staff.get_by_label("Canned reply").select_option(label=canned.title)
        await staff.get_by_role("button", name="Insert").click()
        answer = f"le certificat du ticket {ticket.number} est renouvelé."
        await staff.wait_for_function(
            "text => document.querySelector('#reply-body').value.includes(text)", arg=answer
        )
        await staff.get_by_role("button", name="Send", exact=True).click()
        await staff.get_by_text("Your reply was sent.").wait_for()

        mail = await _mail_containing(smtp_sink, customer.email, answer)
        assert ticket.number in mail.message["Subject"]

        await portal.reload()
        assert answer in await portal.get_by_role("region", name="Conversation").inner_text()

        await staff.get_by_label("Status", exact=True).select_option("resolved")
        await staff.get_by_role("button", name="Save Status").click()
        await staff.get_by_text("Saved.").wait_for()

        await portal.reload()
        await portal.get_by_role("button", name="Reopen the ticket").click()
        await portal.get_by_text("The ticket is open again").wait_for()
        async with sessionmaker() as db:
            reopened = await db.get(Ticket, ticket.id)
        assert reopened.status == "open"
    finally:
        await portal_context.close()
        await desk_context.close()


async def _mail_containing(smtp_sink, address: str, text: str, within: float = 20):
    """The customer also gets the acknowledgement of their ticket: wait for the answer's mail."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        for mail in smtp_sink.to(address):
            if text in mail.text:
                return mail
        await asyncio.sleep(0.1)
    raise AssertionError(f"no mail to {address} contains {text!r}")
