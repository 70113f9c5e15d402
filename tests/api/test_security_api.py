"""The JSON API's sign-in obeys the same rules as the web one: a TOTP code is single-use across
both (also under two concurrent requests), and failures on one lock the other."""

from __future__ import annotations

import asyncio

import pyotp

from tests.support.accounts import csrf_token, make_person
from tests.support.security import client_from

TOKEN_URL = "/api/v1/auth/token"


def _token_request(person, code: str | None = None, password: str | None = None) -> dict:
    return {
        "email": person.email,
        "password": password or person.password,
        "totp_code": code,
    }


async def test_one_code_sent_to_the_api_twice_at_once_issues_tokens_once(
    web_url, sessionmaker, settings
):
    person = await make_person(sessionmaker, settings, role="agent")
    code = pyotp.TOTP(person.totp_secret).now()
    async with client_from(web_url) as first, client_from(web_url) as second:
        answers = await asyncio.gather(
            *(
                client.post(TOKEN_URL, json=_token_request(person, code))
                for client in (first, second)
            )
        )

    assert sorted(answer.status_code for answer in answers) == [200, 401]
    [issued] = [answer for answer in answers if answer.status_code == 200]
    assert issued.json()["access_token"]


async def test_code_spent_on_the_web_sign_in_is_refused_by_the_api(web_url, sessionmaker, settings):
    person = await make_person(sessionmaker, settings, role="agent")
    code = pyotp.TOTP(person.totp_secret).now()
    async with client_from(web_url) as browser:
        token = await csrf_token(browser)
        await browser.post(
            "/login", data={"email": person.email, "password": person.password, "csrf_token": token}
        )
        web = await browser.post("/login/second-factor", data={"code": code, "csrf_token": token})
    async with client_from(web_url) as integrator:
        api = await integrator.post(TOKEN_URL, json=_token_request(person, code))

    assert web.status_code == 303
    assert api.status_code == 401
    assert api.headers["content-type"] == "application/problem+json"


async def test_failures_on_the_api_lock_the_web_sign_in_too(web_url, sessionmaker, settings):
    person = await make_person(sessionmaker, settings, role="customer_owner")
    async with client_from(web_url) as integrator:
        for _ in range(settings.auth_max_failures_per_account):
            await integrator.post(
                TOKEN_URL, json=_token_request(person, password="Wrong-Guess-Lavande-17")
            )
    async with client_from(web_url) as browser:
        token = await csrf_token(browser)
        web = await browser.post(
            "/login", data={"email": person.email, "password": person.password, "csrf_token": token}
        )

    assert web.status_code == 429
    assert "Too many failed attempts" in web.text
