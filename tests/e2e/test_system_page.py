"""The admin's system page in a real Chromium: rendered with our CSS and htmx, the test-email
form swaps its section in place, and the outbox fragment polls until the email is sent."""

from __future__ import annotations

import pytest

from tests.support.accounts import make_person
from tests.support.browser import browser_sign_in

pytestmark = pytest.mark.e2e


async def test_system_page_sends_a_test_email_through_htmx(
    page, sessionmaker, settings, smtp_sink, unique
):
    problems: list[str] = []
    page.on("console", lambda message: message.type == "error" and problems.append(message.text))
    page.on("pageerror", lambda error: problems.append(str(error)))
    admin = await make_person(sessionmaker, settings, role="admin")
    await browser_sign_in(page, admin)

    await page.goto("/admin/system")
    assert await page.title() == "System · CloudManager"
    assert await page.evaluate("typeof window.htmx") == "object"
    assert await page.locator("#health-panel .badge-ok").count() == 2
    await page.evaluate("window.stillTheSamePage = true")

    address = f"browser-{unique}@example.dz"
    await page.get_by_label("Send a test message to").fill(address)
    async with page.expect_response("**/admin/system/test-email") as posted:
        await page.get_by_role("button", name="Send", exact=True).click()
    answer = await posted.value
    assert answer.request.headers.get("hx-request") == "true"
    await page.get_by_text(f"Test message queued for {address}").wait_for()
    assert await page.evaluate("window.stillTheSamePage") is True  # swapped, not reloaded

    row = page.locator("#outbox tr", has_text=address)
    await row.get_by_text("Sent").wait_for(timeout=15_000)
    await smtp_sink.wait_for(address)
    assert problems == []


async def test_invalid_address_is_explained_in_place(page, sessionmaker, settings):
    admin = await make_person(sessionmaker, settings, role="admin")
    await browser_sign_in(page, admin)
    await page.goto("/admin/system")

    await page.get_by_label("Send a test message to").fill("not an address")
    await page.get_by_role("button", name="Send", exact=True).click()

    await page.get_by_text("Enter a valid email address").first.wait_for()
    assert await page.get_by_label("Send a test message to").input_value() == "not an address"
