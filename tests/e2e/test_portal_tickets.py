"""A customer in Chromium: opens a ticket with an attachment, sees it, replies, closes it as solved
and reopens it, through the real pages, workflow and database."""

from __future__ import annotations

import pytest

from tests.support.accounts import make_person
from tests.support.attachments import png
from tests.support.browser import browser_sign_in

pytestmark = pytest.mark.e2e


async def test_a_customer_opens_replies_closes_and_reopens_a_ticket(page, sessionmaker, settings):
    customer = await make_person(sessionmaker, settings, role="customer_member")
    await browser_sign_in(page, customer)

    await page.get_by_role("navigation", name="Portal").get_by_role("link", name="Tickets").click()
    await page.get_by_role("link", name="New ticket").click()
    await page.get_by_label("Subject").fill("Le certificat a expiré")
    await page.get_by_label("Priority").select_option("high")
    await page.get_by_label("Message").fill("Depuis ce matin\nle navigateur refuse le site.")
    await page.get_by_label("Attachments").set_input_files(
        [{"name": "erreur.png", "mimeType": "image/png", "buffer": png()}]
    )
    await page.get_by_role("button", name="Open the ticket").click()

    await page.wait_for_url("**/portal/tickets/*")
    heading = page.get_by_role("heading", level=1)
    assert "Le certificat a expiré" in await heading.inner_text()
    conversation = page.get_by_role("region", name="Conversation")
    assert "le navigateur refuse le site." in await conversation.inner_text()
    assert await conversation.get_by_role("img", name="erreur.png").is_visible()

    await page.get_by_label("Your message").fill("Voici une précision.")
    await page.get_by_role("button", name="Send").click()
    await page.get_by_text("Your message was sent.").wait_for()
    assert "Voici une précision." in await conversation.inner_text()

    await page.get_by_role("button", name="My problem is solved").click()
    await page.get_by_text("The ticket is closed").wait_for()
    properties = page.locator(".ticket-properties")
    assert "Closed" in await properties.inner_text()

    await page.get_by_role("button", name="Reopen the ticket").click()
    await page.get_by_text("The ticket is open again").wait_for()
    assert "Open" in await properties.inner_text()
    assert await page.get_by_role("button", name="My problem is solved").is_visible()
