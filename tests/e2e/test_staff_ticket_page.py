"""The agent's side in a real Chromium: on a ticket page, insert a canned reply (htmx renders it
on the server and adds it to the box), send it with a file, see it in the conversation, resolve
the ticket; from the list, a bulk action whose progress page polls until it is done — and the
same progress page without JavaScript, which reloads itself."""

from __future__ import annotations

import pytest

from db.models import CannedReply
from tests.support.accounts import make_person
from tests.support.attachments import png
from tests.support.browser import browser_sign_in
from tests.support.desks import make_desk
from tests.support.staff_tickets import open_ticket

pytestmark = pytest.mark.e2e


async def test_an_agent_answers_with_a_canned_reply_and_a_file_then_resolves(
    page, sessionmaker, settings, temporal_client, worker, unique
):
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    agent = await make_person(sessionmaker, settings, role="agent")
    view = await open_ticket(
        temporal_client, settings, sessionmaker, agent_ids=[str(agent.user.id)]
    )
    async with sessionmaker() as db, db.begin():
        db.add(
            CannedReply(
                category="Support", title=f"Redémarrage {unique}",
                body="Le ticket {{ ticket.number }} est traité : le serveur a redémarré.",
            )
        )  # fmt: skip
    await browser_sign_in(page, agent)

    await page.goto(f"/staff/tickets/{view.ticket_id}")
    assert await page.evaluate("typeof window.htmx") == "object"
    await page.evaluate("window.stillTheSamePage = true")
    box = page.get_by_label("Message to the customer")
    await box.fill("Bonjour,")
    await page.get_by_label("Canned reply").select_option(label=f"Redémarrage {unique}")
    await page.get_by_role("button", name="Insert").click()
    rendered = f"Le ticket {view.number} est traité : le serveur a redémarré."
    await page.wait_for_function(
        "text => document.querySelector('#reply-body').value.endsWith(text)", arg=rendered
    )
    assert await page.evaluate("window.stillTheSamePage") is True  # inserted, not reloaded
    assert await box.input_value() == f"Bonjour,\n\n{rendered}"

    await page.locator("#reply-attachments").set_input_files(
        [{"name": "journal.png", "mimeType": "image/png", "buffer": png()}]
    )
    await page.get_by_role("button", name="Send", exact=True).click()
    await page.get_by_text("Your reply was sent.").wait_for()
    assert await page.evaluate("window.stillTheSamePage") is True  # boosted: swapped in place
    sent = page.locator("article.message", has_text=rendered)
    await sent.get_by_role("link", name="Download journal.png").wait_for()

    await page.get_by_label("Status", exact=True).select_option("resolved")
    await page.get_by_role("button", name="Save Status").click()
    await page.get_by_text("Saved.").wait_for()
    assert await page.locator(".ticket-badges .badge-state-resolved").inner_text() == "Resolved"
    assert problems == []


async def _bulk_ready(page, sessionmaker, settings, temporal_client, count: int):
    agent = await make_person(sessionmaker, settings, role="agent")
    desk = await make_desk(sessionmaker)
    views = [
        await open_ticket(temporal_client, settings, sessionmaker, desk=desk) for _ in range(count)
    ]
    await browser_sign_in(page, agent)
    await page.goto(f"/staff/tickets?queue=all&customer_id={desk.customer_id}")
    return views


async def test_a_bulk_action_shows_its_progress_until_done(
    page, sessionmaker, settings, temporal_client, worker
):
    views = await _bulk_ready(page, sessionmaker, settings, temporal_client, 3)

    await page.get_by_label("Select every ticket of this page").check()
    await page.get_by_text("Selected: 3").wait_for()
    await page.locator("#bulk-priority").select_option("urgent")
    await page.get_by_role("button", name="Set Priority").click()

    await page.wait_for_url("**/staff/tickets/bulk/**")
    await page.evaluate("window.stillTheSamePage = true")
    await page.get_by_text("Done.").wait_for(timeout=20_000)
    assert await page.get_by_text("Applied: 3").count() == 1
    assert await page.evaluate("window.stillTheSamePage") is True  # polled, not reloaded
    for view in views:
        await page.get_by_role("link", name=view.number).wait_for()


async def test_without_javascript_the_progress_page_reloads_itself(
    browser, web_url, sessionmaker, settings, temporal_client, worker
):
    context = await browser.new_context(base_url=web_url, locale="en-GB", java_script_enabled=False)
    page = await context.new_page()
    try:
        await _bulk_ready(page, sessionmaker, settings, temporal_client, 2)
        for box in await page.locator("input[name='ticket']").all():
            await box.check()
        await page.locator("#bulk-form").get_by_role("button", name="Close").click()

        await page.wait_for_url("**/staff/tickets/bulk/**")
        await page.get_by_text("Done.").wait_for(timeout=30_000)
        assert await page.get_by_text("Applied: 2").count() == 1
    finally:
        await context.close()
