"""A new customer, in a real Chromium: registers, confirms the address from the email the SMTP
sink caught, signs in, turns on two-step verification, signs out, signs in again with a code
computed by an independent implementation (Debian's oathtool), and sees that sign-in in the
security page's history."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

pytestmark = pytest.mark.e2e

OATHTOOL = shutil.which("oathtool")
PASSWORD = "Cèdre-Lagune-Fanal-2026"


def _oathtool(secret: str, offset_seconds: int) -> str:
    # The code of the step after the one the setup consumed: each time step is single-use.
    done = subprocess.run(
        [OATHTOOL, "--totp", "-b", "-N", f"now + {offset_seconds} seconds", secret],
        capture_output=True, text=True, check=True, timeout=10,
    )  # fmt: skip
    return done.stdout.strip()


@pytest.mark.skipif(OATHTOOL is None, reason="Debian's oathtool is installed by .ci/run")
async def test_register_verify_enable_two_step_and_sign_in_with_oathtool(page, smtp_sink, unique):
    email = f"amina-{unique}@atlas-numerique.dz"

    await page.goto("/register")
    await page.get_by_label("Company name").fill("Atlas Numérique SARL")
    await page.get_by_label("Your full name").fill("Amina Benali")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Create my account").click()
    await page.get_by_role("heading", name="Check your email").wait_for()

    [mail] = await smtp_sink.wait_for(email)
    link = re.search(r"https?://\S+/verify-email\?token=\S+", mail.text).group(0)
    await page.goto(link)
    await page.get_by_text("Your email address is confirmed.").wait_for()

    await page.goto("/login")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url("**/portal")

    await page.goto("/portal/security")
    await page.get_by_role("link", name="Turn on two-step verification").click()
    secret = (await page.locator("code.secret-key").inner_text()).strip()
    assert await page.locator(".qr-code svg").count() == 1  # rendered here, not by a service
    await page.get_by_label("Code", exact=True).fill(_oathtool(secret, 0))
    await page.get_by_role("button", name="Turn on two-step verification").click()
    await page.get_by_text("Two-step verification is on.").wait_for()
    assert await page.locator(".backup-codes li").count() == 10

    await page.get_by_role("button", name="Sign out").first.click()
    await page.wait_for_url("**/login?signed_out=1")

    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url("**/login/second-factor**")
    assert "/login/second-factor" in page.url  # the password alone grants nothing
    # The setup spent this time step; the next one is accepted now (one step of clock drift).
    await page.get_by_label("Code", exact=True).fill(_oathtool(secret, 30))
    await page.get_by_role("button", name="Verify").click()
    await page.wait_for_url("**/portal")

    await page.goto("/portal/security")
    history = page.get_by_role("table", name=re.compile("Your latest sign-ins"))
    await history.wait_for()
    assert await history.locator("tr", has_text="Signed in").count() >= 2
    assert await history.locator("tr", has_text="Password accepted, second step due").count() >= 1
