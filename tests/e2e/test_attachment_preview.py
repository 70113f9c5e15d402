"""A PDF preview is served under a sandbox Content-Security-Policy (no script may run from an
uploaded file); Chromium's PDF viewer must still open it inline."""

from __future__ import annotations

import asyncio

import pytest

from tests.support.attachments import pdf, ticket_with_files

pytestmark = pytest.mark.e2e


async def test_chromium_shows_a_pdf_preview_despite_the_sandbox(
    page, web_url, signed_in, sessionmaker, settings
):
    owner = await signed_in("customer_owner")
    [row] = await ticket_with_files(
        sessionmaker, settings, owner.person.user.customer_id, [("devis.pdf", pdf())]
    )
    await page.context.add_cookies(
        [{"name": name, "value": value, "url": web_url} for name, value in owner.cookies.items()]
    )

    answer = await page.goto(f"/attachments/{row.id}/preview")

    assert answer.status == 200
    # The raw header: Playwright's `headers` shows what Chromium kept of it, not what was sent.
    assert (await answer.header_value("content-security-policy")).startswith("sandbox;")
    viewer = await _pdf_viewer(page)
    # The page selector reads "1" once the viewer has opened the document.
    await viewer.locator("#pageSelector").wait_for()
    assert await viewer.locator("#pageSelector").input_value() == "1"


async def _pdf_viewer(page):
    """Chromium's viewer runs in an extension frame inside the page."""
    for _ in range(100):
        for frame in page.frames:
            if frame.url.startswith("chrome-extension://"):
                return frame
        await asyncio.sleep(0.05)
    raise AssertionError(f"no PDF viewer in {[frame.url for frame in page.frames]}")
