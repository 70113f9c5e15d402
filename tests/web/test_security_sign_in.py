"""Sign-in security over real HTTP: session rotation, the two-step login, single-use TOTP codes
(also under concurrency), lockouts and their end, per-IP limits, password-reset links, sign-out
and session timeouts.

Every client that makes failures comes from its own address (X-Forwarded-For, trusted from
127.0.0.1 by uvicorn), so the per-IP counters of one test never lock another test out.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from datetime import timedelta
from urllib.parse import quote

import httpx
import pyotp
from babel.dates import format_datetime
from sqlalchemy import func, select, update

import i18n
from api.identity import throttle
from api.identity.keys import sha256_hex
from db.models import AuthThrottle, OneTimeToken, OneTimeTokenPurpose, Session, User
from tests.support.accounts import csrf_token, make_person, sign_in
from tests.support.security import api_routes, area_pages, client_from, new_ip, serve
from web.app import create_app

WRONG_PASSWORD = "Wrong-Guess-Lavande-17"
NEW_PASSWORD = "Granit-Oasis-Mirabelle-58"
RESET_LINK = re.compile(r"/reset-password\?token=([A-Za-z0-9_\-]+)")
CSRF_VALUE = re.compile(r'(name="csrf_token" value=|"X-CSRF-Token": )"[^"]+"')


# -- helpers -------------------------------------------------------------------------------------


async def password_step(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    token = await csrf_token(client)
    return await client.post(
        "/login", data={"email": email, "password": password, "csrf_token": token}
    )


async def code_step(client: httpx.AsyncClient, code: str) -> httpx.Response:
    return await client.post(
        "/login/second-factor", data={"code": code, "csrf_token": client.cookies["csrftoken"]}
    )


async def sign_out(client: httpx.AsyncClient) -> httpx.Response:
    return await client.post("/logout", data={"csrf_token": client.cookies["csrftoken"]})


def holding(web_url: str, session_cookie: str) -> httpx.AsyncClient:
    """A browser that has nothing but this session cookie."""
    return client_from(web_url, cookies={"cm_session": session_cookie})


def sent_to_sign_in(answer: httpx.Response) -> bool:
    return answer.status_code == 303 and answer.headers["location"].startswith("/login")


async def locked_until(sessionmaker, email: str):
    async with sessionmaker() as db:
        return await db.scalar(
            select(AuthThrottle.locked_until).where(AuthThrottle.key == throttle.account_key(email))
        )


def shown_time(settings, moment) -> str:
    """The unlock time as the sign-in page writes it (English, the site's time zone)."""
    return format_datetime(
        moment, format="short", tzinfo=settings.time_zone, locale=i18n.babel_date_locale("en")
    )


def other_code(secret: str) -> str:
    """A six-digit code valid for none of the steps the server accepts now."""
    totp, now = pyotp.TOTP(secret), time.time()
    valid = {totp.at(now + offset) for offset in (-60, -30, 0, 30, 60)}
    return next(code for code in (f"{n:06d}" for n in range(1000)) if code not in valid)


async def reset_link_for(client, smtp_sink, email: str) -> str:
    token = await csrf_token(client, "/forgot-password")
    await client.post("/forgot-password", data={"email": email, "csrf_token": token})
    [mail] = await smtp_sink.wait_for(email)
    return RESET_LINK.search(mail.text).group(1)


async def reset(client, token: str, password: str = NEW_PASSWORD) -> httpx.Response:
    return await client.post(
        "/reset-password",
        data={"token": token, "password": password, "csrf_token": client.cookies["csrftoken"]},
    )


def without_csrf(page: str) -> str:
    return CSRF_VALUE.sub(r'\1"…"', page)


# -- session rotation and the two-step login -----------------------------------------------------


async def test_session_cookie_changes_between_the_password_step_and_the_second_factor(
    web_url, sessionmaker, settings
):
    person = await make_person(sessionmaker, settings, role="agent")
    async with client_from(web_url) as client:
        first = await password_step(client, person.email, person.password)
        second = await code_step(client, pyotp.TOTP(person.totp_secret).now())

    assert first.headers["location"].startswith("/login/second-factor")
    assert second.status_code == 303 and second.headers["location"] == "/staff"
    pending, full = first.cookies["cm_session"], second.cookies["cm_session"]
    assert pending and full and pending != full


async def test_the_password_step_alone_grants_nothing(web_url, sessionmaker, settings):
    person = await make_person(sessionmaker, settings, role="admin")
    async with client_from(web_url) as client:
        first = await password_step(client, person.email, person.password)
    pending = first.cookies["cm_session"]

    app = create_app(settings)
    api = [
        route.path
        for route in api_routes(app)
        if route.path.startswith("/api/v1") and route.declared and not route.public
        and "GET" in route.methods and not route.has_path_params
    ]  # fmt: skip
    async with holding(web_url, pending) as half_signed_in:
        form = await half_signed_in.get("/login/second-factor")
        pages = {page.path: await half_signed_in.get(page.path) for page in area_pages(app)}
        calls = {path: await half_signed_in.get(path) for path in api}

    assert form.status_code == 200  # the one thing the first step opens
    for path, answer in pages.items():
        assert answer.status_code == 303, path
        assert answer.headers["location"] == f"/login?next={quote(path, safe='')}"
    for path, answer in calls.items():
        assert answer.status_code == 401, path


async def test_pending_cookie_grants_nothing_once_the_second_factor_is_done(
    web_url, sessionmaker, settings
):
    person = await make_person(sessionmaker, settings, role="agent")
    async with client_from(web_url) as client:
        first = await password_step(client, person.email, person.password)
        await code_step(client, pyotp.TOTP(person.totp_secret).now())
        assert (await client.get("/staff")).status_code == 200

    async with holding(web_url, first.cookies["cm_session"]) as replay:
        assert sent_to_sign_in(await replay.get("/login/second-factor"))
        assert sent_to_sign_in(await replay.get("/staff"))


async def test_cookie_planted_before_sign_in_grants_nothing(web_url, sessionmaker, settings):
    person = await make_person(sessionmaker, settings, role="customer_owner")
    planted = "attacker-chosen-" + uuid.uuid4().hex
    async with client_from(web_url, cookies={"cm_session": planted}) as victim:
        signed = await password_step(victim, person.email, person.password)

    assert signed.status_code == 303 and signed.cookies["cm_session"] != planted
    async with holding(web_url, planted) as attacker:
        assert sent_to_sign_in(await attacker.get("/portal"))


async def test_signing_in_again_ends_the_session_the_browser_held(web_url, sessionmaker, settings):
    person = await make_person(sessionmaker, settings, role="customer_owner")
    async with client_from(web_url) as client:
        await sign_in(client, person)
        before = client.cookies["cm_session"]
        # Signed in, /login redirects away from its form: post it as a still-open tab would.
        again = await client.post(
            "/login",
            data={
                "email": person.email,
                "password": person.password,
                "csrf_token": client.cookies["csrftoken"],
            },
        )
        after = again.cookies["cm_session"]

    assert before != after
    async with holding(web_url, before) as replay:
        assert sent_to_sign_in(await replay.get("/portal"))


# -- TOTP codes are single-use -------------------------------------------------------------------


async def test_reused_totp_code_is_refused(web_url, sessionmaker, settings):
    person = await make_person(sessionmaker, settings, role="agent")
    code = pyotp.TOTP(person.totp_secret).now()
    async with client_from(web_url) as first:
        await password_step(first, person.email, person.password)
        assert (await code_step(first, code)).status_code == 303
        await sign_out(first)

    async with client_from(web_url) as second:
        await password_step(second, person.email, person.password)
        again = await code_step(second, code)

    assert again.status_code == 401
    assert "That code is not valid." in again.text
    assert "cm_session" not in again.cookies


async def test_one_code_submitted_twice_at_once_signs_in_once(web_url, sessionmaker, settings):
    person = await make_person(sessionmaker, settings, role="agent")
    code = pyotp.TOTP(person.totp_secret).now()
    clients = [client_from(web_url), client_from(web_url)]
    try:
        for client in clients:
            first = await password_step(client, person.email, person.password)
            assert first.headers["location"].startswith("/login/second-factor")
        answers = await asyncio.gather(*(code_step(client, code) for client in clients))
        staff_pages = [(await client.get("/staff")).status_code for client in clients]
    finally:
        for client in clients:
            await client.aclose()

    assert sorted(answer.status_code for answer in answers) == [303, 401]
    assert sorted(staff_pages) == [200, 303]


# -- brute force: per account, per IP ------------------------------------------------------------


async def test_account_locks_after_the_configured_failures_and_names_the_unlock_time(
    web_url, sessionmaker, settings
):
    person = await make_person(sessionmaker, settings, role="customer_owner")
    limit = settings.auth_max_failures_per_account
    async with client_from(web_url) as client:
        failures = [await password_step(client, person.email, WRONG_PASSWORD) for _ in range(limit)]
        right_password = await password_step(client, person.email, person.password)

    assert [answer.status_code for answer in failures[:-1]] == [401] * (limit - 1)
    assert right_password.status_code == 429
    unlock = await locked_until(sessionmaker, person.email)
    assert unlock is not None
    assert f"Try again after {shown_time(settings, unlock)}" in right_password.text
    assert "cm_session" not in right_password.cookies


async def test_wrong_second_factor_codes_lock_the_account(web_url, sessionmaker, settings):
    person = await make_person(sessionmaker, settings, role="agent")
    limit = settings.auth_max_failures_per_account
    async with client_from(web_url) as client:
        await password_step(client, person.email, person.password)
        for _ in range(limit):
            await code_step(client, other_code(person.totp_secret))
        right_code = await code_step(client, pyotp.TOTP(person.totp_secret).now())

    assert right_code.status_code == 429
    unlock = await locked_until(sessionmaker, person.email)
    assert f"Try again after {shown_time(settings, unlock)}" in right_code.text


async def test_locked_account_opens_again_after_the_lockout_time(sessionmaker, settings):
    person = await make_person(sessionmaker, settings, role="customer_owner")
    short = {"auth_lockout_seconds": 2, "auth_failure_window_seconds": 60}
    async with serve(settings, **short) as url, client_from(url) as client:
        for _ in range(settings.auth_max_failures_per_account):
            await password_step(client, person.email, WRONG_PASSWORD)
        while_locked = await password_step(client, person.email, person.password)
        unlock = await locked_until(sessionmaker, person.email)
        async with sessionmaker() as db:
            remaining = (unlock - await db.scalar(select(func.now()))).total_seconds()
        assert remaining <= 2
        await asyncio.sleep(max(remaining, 0) + 0.2)
        after = await password_step(client, person.email, person.password)

    assert while_locked.status_code == 429
    assert after.status_code == 303 and after.headers["location"] == "/portal"


async def test_failures_spread_over_many_accounts_block_the_ip(web_url, sessionmaker, settings):
    limit = settings.auth_max_failures_per_ip
    targets = [await make_person(sessionmaker, settings) for _ in range(limit)]
    person = await make_person(sessionmaker, settings)
    async with client_from(web_url, new_ip()) as sprayer:
        spray = [await password_step(sprayer, t.email, WRONG_PASSWORD) for t in targets]
        right_password = await password_step(sprayer, person.email, person.password)
    async with client_from(web_url, new_ip()) as elsewhere:
        from_elsewhere = await password_step(elsewhere, person.email, person.password)

    assert [answer.status_code for answer in spray[:-1]] == [401] * (limit - 1)
    assert right_password.status_code == 429
    assert from_elsewhere.status_code == 303  # the account itself was never the problem


async def test_bad_verification_links_count_against_the_ip(web_url, sessionmaker, settings):
    person = await make_person(sessionmaker, settings)
    async with client_from(web_url, new_ip()) as guesser:
        for attempt in range(settings.auth_max_failures_per_ip):
            guess = await guesser.get(f"/verify-email?token=guess-{attempt}-{uuid.uuid4().hex}")
            assert guess.status_code in (400, 429)
        right_password = await password_step(guesser, person.email, person.password)

    assert right_password.status_code == 429


async def test_reset_request_from_a_locked_ip_issues_no_link(web_url, sessionmaker, settings):
    person = await make_person(sessionmaker, settings)
    async with client_from(web_url, new_ip()) as client:
        for _ in range(settings.auth_max_failures_per_ip):
            await password_step(client, f"nobody-{uuid.uuid4().hex[:8]}@example.dz", "x" * 12)
        assert (await password_step(client, person.email, person.password)).status_code == 429
        token = await csrf_token(client, "/forgot-password")
        answer = await client.post(
            "/forgot-password", data={"email": person.email, "csrf_token": token}
        )

    assert answer.status_code == 200
    async with sessionmaker() as db:
        issued = await db.scalar(
            select(func.count()).where(
                OneTimeToken.user_id == person.user.id,
                OneTimeToken.purpose == OneTimeTokenPurpose.RESET_PASSWORD,
            )
        )
    assert issued == 0


# -- password reset ------------------------------------------------------------------------------


async def test_reset_link_works_once(web_url, sessionmaker, settings, smtp_sink):
    person = await make_person(sessionmaker, settings)
    async with client_from(web_url) as client:
        token = await reset_link_for(client, smtp_sink, person.email)
        first = await reset(client, token)
        second = await reset(client, token, "Cerisier-Dune-Ardoise-93")
        unknown = await reset(client, "unknown-" + uuid.uuid4().hex)
    async with client_from(web_url) as browser:
        new_password = await password_step(browser, person.email, NEW_PASSWORD)

    assert first.status_code == 303 and first.headers["location"] == "/login?password_reset=1"
    assert second.status_code == 400
    assert "This link is invalid or has expired." in second.text
    assert (second.status_code, without_csrf(second.text)) == (
        unknown.status_code,
        without_csrf(unknown.text),
    )
    assert new_password.status_code == 303  # the first use counted, the second changed nothing


async def test_used_reset_link_opened_again_says_it_is_invalid(
    web_url, sessionmaker, settings, smtp_sink
):
    person = await make_person(sessionmaker, settings)
    async with client_from(web_url) as client:
        token = await reset_link_for(client, smtp_sink, person.email)
        assert (await reset(client, token)).status_code == 303
        reopened = await client.get(f"/reset-password?token={token}")

    assert "This link is invalid or has expired." in reopened.text
    assert 'name="password"' not in reopened.text


async def test_expired_reset_link_gets_the_unknown_link_answer(
    web_url, sessionmaker, settings, smtp_sink
):
    person = await make_person(sessionmaker, settings)
    async with client_from(web_url) as client:
        token = await reset_link_for(client, smtp_sink, person.email)
        async with sessionmaker() as db, db.begin():
            await db.execute(
                update(OneTimeToken)
                .where(OneTimeToken.token_hash == sha256_hex(token))
                .values(expires_at=func.now() - timedelta(minutes=1))
            )
        expired = await reset(client, token)
        unknown = await reset(client, "unknown-" + uuid.uuid4().hex)
    async with sessionmaker() as db:
        stored_hash = await db.scalar(select(User.password_hash).where(User.id == person.user.id))

    assert expired.status_code == unknown.status_code == 400
    assert without_csrf(expired.text) == without_csrf(unknown.text)
    assert stored_hash == person.user.password_hash


async def test_forgot_password_answer_is_the_same_for_known_and_unknown_email(
    web_url, sessionmaker, settings, smtp_sink, unique
):
    person = await make_person(sessionmaker, settings)
    async with client_from(web_url) as client:
        token = await csrf_token(client, "/forgot-password")
        known = await client.post(
            "/forgot-password", data={"email": person.email, "csrf_token": token}
        )
        unknown = await client.post(
            "/forgot-password",
            data={"email": f"nobody-{unique}@example.dz", "csrf_token": token},
        )

    await smtp_sink.wait_for(person.email)  # the known address really was sent a link
    assert known.status_code == unknown.status_code == 200
    assert without_csrf(known.text) == without_csrf(unknown.text)
    assert known.headers.get("set-cookie") == unknown.headers.get("set-cookie")


# -- sign-out and timeouts -----------------------------------------------------------------------


async def test_sign_out_revokes_the_session_on_the_server(web_url, signed_in):
    client = await signed_in("customer_owner")
    cookie = client.cookies["cm_session"]
    assert (await client.get("/portal")).status_code == 200

    signed_out = await sign_out(client)

    assert signed_out.status_code == 303
    async with holding(web_url, cookie) as replay:
        answer = await replay.get("/portal")
    assert answer.status_code == 303 and answer.headers["location"] == "/login?next=%2Fportal"


async def _age_session(sessionmaker, cookie: str, **values) -> None:
    async with sessionmaker() as db, db.begin():
        await db.execute(
            update(Session).where(Session.token_hash == sha256_hex(cookie)).values(**values)
        )


async def test_idle_session_stops_working(signed_in, sessionmaker, settings):
    client = await signed_in("customer_owner")
    cookie = client.cookies["cm_session"]
    idle = timedelta(minutes=settings.session_idle_minutes)

    await _age_session(sessionmaker, cookie, last_seen_at=func.now() - idle + timedelta(minutes=1))
    still_fresh = await client.get("/portal")
    await _age_session(sessionmaker, cookie, last_seen_at=func.now() - idle - timedelta(minutes=1))
    gone_idle = await client.get("/portal")

    assert still_fresh.status_code == 200
    assert sent_to_sign_in(gone_idle)


async def test_session_past_its_absolute_lifetime_stops_working(signed_in, sessionmaker):
    client = await signed_in("customer_owner")
    cookie = client.cookies["cm_session"]

    await _age_session(sessionmaker, cookie, expires_at=func.now() - timedelta(seconds=1))

    assert sent_to_sign_in(await client.get("/portal"))
