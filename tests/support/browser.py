"""Driving Chromium like a person: sign in through the real form."""

from __future__ import annotations

import pyotp

from tests.support.accounts import Person


async def browser_sign_in(page, person: Person) -> None:
    await page.goto("/login")
    await page.get_by_label("Email").fill(person.email)
    await page.get_by_label("Password").fill(person.password)
    await page.get_by_role("button", name="Sign in").click()
    if person.totp_secret:
        await page.wait_for_url("**/login/second-factor**")
        await page.get_by_label("Code").fill(pyotp.TOTP(person.totp_secret).now())
        await page.get_by_role("button", name="Verify").click()
    await page.wait_for_load_state()
