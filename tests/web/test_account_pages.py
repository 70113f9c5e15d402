"""Self-service account pages over real HTTP, for customers (/portal/account, /portal/security)
and staff (/staff/account): profile, password, two-step verification, backup codes, sessions,
login history."""

from __future__ import annotations

import contextlib
import re
import time
import uuid

import httpx
import pyotp
import pytest
from sqlalchemy import delete, select

from db.models import AuditEvent, AuthThrottle, BackupCode, User
from tests.support.accounts import STRONG_PASSWORD, sign_in

FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0"
CHROME = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36"
)
NEW_PASSWORD = "Figuier-Lanterne-Orage-2031"
SECRET_INPUT = re.compile(r'name="secret" value="([A-Z2-7]+)"')
BACKUP_CODE = re.compile(r"<code>([a-z2-9]{5}-[a-z2-9]{5})</code>")
REVOKE_FORM = re.compile(r'action="/portal/security/sessions/([0-9a-f-]{36})/revoke"')


@pytest.fixture(autouse=True)
async def _forget_local_failures(sessionmaker):
    """These tests fail some sign-ins on purpose from 127.0.0.1; the per-address count must not
    lock out the tests that come after."""
    yield
    async with sessionmaker() as db, db.begin():
        await db.execute(delete(AuthThrottle).where(AuthThrottle.key == "ip:127.0.0.1"))


async def post(client: httpx.AsyncClient, path: str, data: dict | None = None) -> httpx.Response:
    if not client.cookies.get("csrftoken"):
        await client.get("/login")
    return await client.post(path, data={**(data or {}), "csrf_token": client.cookies["csrftoken"]})


@contextlib.asynccontextmanager
async def another_client(web_url: str, person, user_agent: str = FIREFOX):
    """The same person signed in from a second browser."""
    async with httpx.AsyncClient(
        base_url=web_url, follow_redirects=False, timeout=20, headers={"User-Agent": user_agent}
    ) as client:
        await sign_in(client, person)
        yield client


async def user_row(sessionmaker, user_id: uuid.UUID) -> User:
    async with sessionmaker() as db:
        return await db.get_one(User, user_id)


async def actions_about(sessionmaker, user_id: uuid.UUID) -> list[str]:
    async with sessionmaker() as db:
        rows = await db.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.target_id == str(user_id))
            .order_by(AuditEvent.occurred_at)
        )
        return list(rows)


def signed_out(answer: httpx.Response) -> bool:
    return answer.status_code == 303 and answer.headers["location"].startswith("/login")


# -- pages and areas -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "base", "security"),
    [
        ("customer_owner", "/portal/account", "/portal/security"),
        ("agent", "/staff/account", "/staff/account/security"),
    ],
)
async def test_every_account_page_renders_in_its_area(signed_in, role, base, security):
    client = await signed_in(role)

    for path, title in [
        (f"{base}/profile", "Profile"),
        (f"{base}/password", "Change your password"),
        (security, "Security"),
        (f"{security}/history", "Sign-in history"),
        (f"{base}/tokens", "API tokens"),
    ]:
        page = await client.get(path)
        assert page.status_code == 200, path
        assert f"<h1>{title}</h1>" in page.text
        assert f"<title>{title} · CloudManager</title>" in page.text
        assert 'class="breadcrumb"' in page.text and 'aria-current="page"' in page.text
        assert page.text.count('name="csrf_token"') >= 1
    assert (await client.get(base)).headers["location"] == f"{base}/profile"
    home = await client.get(base.rsplit("/", 1)[0])
    assert f'href="{security}"' in home.text  # the user menu and the sidebar lead there


async def test_customers_keep_the_old_security_address_and_areas_stay_apart(signed_in):
    customer = await signed_in("customer_owner")
    agent = await signed_in("agent")

    alias = await customer.get("/portal/account/security")
    assert alias.status_code == 303 and alias.headers["location"] == "/portal/security"
    assert (await customer.get("/staff/account/profile")).status_code == 403
    assert (await agent.get("/portal/security")).status_code == 403


async def test_pages_need_a_session(http):
    answer = await http.get("/portal/security")
    assert signed_out(answer)


# -- profile -------------------------------------------------------------------------------------


async def test_profile_edit_changes_name_language_and_time_zone(signed_in, sessionmaker):
    client = await signed_in("customer_owner")

    saved = await post(
        client,
        "/portal/account/profile",
        {"full_name": "Amina <script>alert(1)</script> Benali", "locale": "fr",
         "time_zone": "Europe/Paris"},
    )  # fmt: skip

    assert saved.status_code == 303 and saved.headers["location"] == "/portal/account/profile"
    page = await client.get("/portal/account/profile", headers={"Accept-Language": "en"})
    assert '<html lang="fr"' in page.text  # the user's language wins over the browser's
    assert (
        "Votre profil a été enregistré" in page.text or "Your profile has been saved" in page.text
    )
    assert "<script>alert(1)</script>" not in page.text
    assert "Amina &lt;script&gt;alert(1)&lt;/script&gt; Benali" in page.text
    user = await user_row(sessionmaker, client.person.user.id)
    assert (user.locale, user.time_zone) == ("fr", "Europe/Paris")
    assert "account.profile_updated" in await actions_about(sessionmaker, user.id)


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"full_name": "A" * 201}, "full_name", "at most 200 characters"),
        ({"full_name": "Ali\u202egnp.exe"}, "full_name", "not allowed"),
        ({"full_name": "   "}, "full_name", "required"),
        ({"locale": "de"}, "locale", "language from the list"),
        ({"time_zone": "Mars/Olympus_Mons"}, "time_zone", "time zone from the list"),
    ],
)
async def test_profile_refuses_bad_input_keeps_it_and_changes_nothing(
    signed_in, sessionmaker, changes, field, message
):
    client = await signed_in("customer_owner")
    before = await user_row(sessionmaker, client.person.user.id)
    form = {"full_name": "New Name", "locale": "en", "time_zone": "Africa/Algiers", **changes}

    answer = await post(client, "/portal/account/profile", form)

    assert answer.status_code == 422
    assert message in answer.text
    assert f'id="f-{field}-error"' in answer.text or f'id="f-{field}"' in answer.text
    if field == "full_name" and form["full_name"].strip():
        assert 'value="' + form["full_name"][:50] in answer.text  # the input is kept
    after = await user_row(sessionmaker, client.person.user.id)
    assert (after.full_name, after.locale, after.time_zone) == (
        before.full_name, before.locale, before.time_zone,
    )  # fmt: skip


async def test_oversized_form_field_is_refused(signed_in):
    client = await signed_in("customer_owner")
    kept = await post(client, "/portal/account/profile", {"full_name": "x" * 3000})
    refused = await post(client, "/portal/account/profile", {"full_name": "x" * 50_000})

    assert kept.status_code == 422 and "Use at most 200 characters" in kept.text
    assert 'id="f-full_name-error"' in kept.text
    assert refused.status_code == 422  # past any sensible size: refused before any work


# -- password ------------------------------------------------------------------------------------


async def test_change_password_needs_the_current_one_and_ends_the_other_sessions(
    signed_in, web_url, sessionmaker
):
    client = await signed_in("customer_owner")
    async with another_client(web_url, client.person) as elsewhere:
        wrong = await post(
            client, "/portal/account/password",
            {"current_password": "not-it-at-all", "new_password": NEW_PASSWORD,
             "new_password_confirm": NEW_PASSWORD},
        )  # fmt: skip
        assert wrong.status_code == 422 and "current password is not correct" in wrong.text
        assert (await elsewhere.get("/portal")).status_code == 200

        mismatch = await post(
            client, "/portal/account/password",
            {"current_password": STRONG_PASSWORD, "new_password": NEW_PASSWORD,
             "new_password_confirm": NEW_PASSWORD + "x"},
        )  # fmt: skip
        assert mismatch.status_code == 422 and "differ" in mismatch.text

        weak = await post(
            client, "/portal/account/password",
            {"current_password": STRONG_PASSWORD, "new_password": "password1234",
             "new_password_confirm": "password1234"},
        )  # fmt: skip
        assert weak.status_code == 422 and 'id="f-new_password-error"' in weak.text

        changed = await post(
            client, "/portal/account/password",
            {"current_password": STRONG_PASSWORD, "new_password": NEW_PASSWORD,
             "new_password_confirm": NEW_PASSWORD},
        )  # fmt: skip
        assert changed.status_code == 303
        assert signed_out(await elsewhere.get("/portal"))
    page = await client.get(changed.headers["location"])  # this browser stays signed in
    assert page.status_code == 200 and "Your password has been changed" in page.text

    actions = await actions_about(sessionmaker, client.person.user.id)
    assert "auth.password_change_failed" in actions and "auth.password_changed" in actions
    client.person.password = NEW_PASSWORD
    async with httpx.AsyncClient(base_url=web_url) as fresh:
        await sign_in(fresh, client.person)


# -- two-step verification -----------------------------------------------------------------------


async def sign_in_with_code(web_url: str, person, code: str) -> httpx.Response:
    """Password, then `code` at the second step; the answer of the second step."""
    async with httpx.AsyncClient(base_url=web_url, follow_redirects=False, timeout=20) as client:
        await client.get("/login")
        token = client.cookies["csrftoken"]
        first = await client.post(
            "/login", data={"email": person.email, "password": person.password, "csrf_token": token}
        )
        assert "/login/second-factor" in first.headers["location"]
        return await client.post("/login/second-factor", data={"code": code, "csrf_token": token})


async def test_two_factor_setup_from_the_security_page_then_codes_are_single_use(
    signed_in, web_url, sessionmaker
):
    client = await signed_in("customer_owner")
    security = await client.get("/portal/security")
    assert "Turn on two-step verification" in security.text

    setup = await client.get("/portal/security/two-factor/setup")
    assert setup.status_code == 200 and "<svg" in setup.text
    assert setup.headers["cache-control"] == "no-store"
    secret = SECRET_INPUT.search(setup.text).group(1)
    assert secret in setup.text.replace('value="' + secret, "")  # also shown as a key to type

    refused = await post(
        client, "/portal/security/two-factor/setup", {"secret": secret, "code": "000000"}
    )
    assert refused.status_code == 422 and "not valid" in refused.text
    assert secret in refused.text  # same key: the QR code already scanned stays good

    code = pyotp.TOTP(secret).now()
    enabled = await post(
        client, "/portal/security/two-factor/setup", {"secret": secret, "code": code}
    )
    assert enabled.status_code == 200
    codes = BACKUP_CODE.findall(enabled.text)
    assert len(codes) == 10 and enabled.headers["cache-control"] == "no-store"
    again = await client.get("/portal/security")
    assert "Backup codes left: 10 of 10" in again.text
    assert not BACKUP_CODE.search(again.text)  # shown once

    # The code that confirmed the set-up is spent: it cannot sign in.
    reused = await sign_in_with_code(web_url, client.person, code)
    assert reused.status_code == 401
    # A backup code works once.
    first = await sign_in_with_code(web_url, client.person, codes[0])
    assert first.status_code == 303 and first.headers["location"] == "/portal"
    second = await sign_in_with_code(web_url, client.person, codes[0])
    assert second.status_code == 401
    assert "Backup codes left: 9 of 10" in (await client.get("/portal/security")).text


async def test_turning_off_two_factor_needs_password_and_a_fresh_code(signed_in, sessionmaker):
    client = await signed_in("customer_owner", two_factor=True)
    secret = client.person.totp_secret
    page = await client.get("/portal/security/two-factor/disable")
    assert page.status_code == 200 and 'name="code"' in page.text

    wrong_password = await post(
        client, "/portal/security/two-factor/disable",
        {"password": "wrong-password-here", "code": pyotp.TOTP(secret).now()},
    )  # fmt: skip
    wrong_code = await post(
        client, "/portal/security/two-factor/disable",
        {"password": STRONG_PASSWORD, "code": "123456"},
    )  # fmt: skip
    assert wrong_password.status_code == 422 and "password is not correct" in wrong_password.text
    assert wrong_code.status_code == 422 and "code is not valid" in wrong_code.text
    assert (await user_row(sessionmaker, client.person.user.id)).totp_enabled_at is not None

    # The sign-in spent the current time step; the next one is within the allowed drift.
    next_code = pyotp.TOTP(secret).at(time.time() + 30)
    off = await post(
        client, "/portal/security/two-factor/disable",
        {"password": STRONG_PASSWORD, "code": next_code},
    )  # fmt: skip
    assert off.status_code == 303
    user = await user_row(sessionmaker, client.person.user.id)
    assert user.totp_enabled_at is None and user.totp_secret_encrypted is None
    actions = await actions_about(sessionmaker, user.id)
    assert actions.count("auth.2fa_disable_failed") == 2 and "auth.2fa_disabled" in actions


async def test_staff_cannot_turn_off_the_two_factor_their_role_requires(signed_in, sessionmaker):
    client = await signed_in("agent")
    page = await client.get("/staff/account/security")
    assert "/staff/account/security/two-factor/disable" not in page.text

    refused = await post(
        client, "/staff/account/security/two-factor/disable",
        {"password": STRONG_PASSWORD, "code": pyotp.TOTP(client.person.totp_secret).now()},
    )  # fmt: skip
    assert refused.status_code == 409 and "role requires" in refused.text
    assert (await user_row(sessionmaker, client.person.user.id)).totp_enabled_at is not None


async def test_new_backup_codes_need_the_password_and_replace_the_old_ones(signed_in, sessionmaker):
    client = await signed_in("agent")
    form = await client.get("/staff/account/security/backup-codes")
    assert "Backup codes left: 0 of 10" in form.text

    wrong = await post(client, "/staff/account/security/backup-codes", {"password": "nope-nope"})
    assert wrong.status_code == 422 and "password is not correct" in wrong.text
    first = await post(
        client, "/staff/account/security/backup-codes", {"password": STRONG_PASSWORD}
    )
    second = await post(
        client, "/staff/account/security/backup-codes", {"password": STRONG_PASSWORD}
    )

    assert first.status_code == second.status_code == 200
    assert len(BACKUP_CODE.findall(second.text)) == 10
    assert set(BACKUP_CODE.findall(first.text)).isdisjoint(BACKUP_CODE.findall(second.text))
    async with sessionmaker() as db:
        stored = list(
            await db.scalars(select(BackupCode).where(BackupCode.user_id == client.person.user.id))
        )
    assert len(stored) == 10 and all(row.used_at is None for row in stored)


# -- sessions and history ------------------------------------------------------------------------


async def test_sessions_list_devices_and_revoking_one_signs_that_browser_out(
    signed_in, web_url, sessionmaker
):
    client = await signed_in("customer_owner")
    async with (
        another_client(web_url, client.person, FIREFOX) as firefox,
        another_client(web_url, client.person, CHROME) as chrome,
    ):
        page = await client.get("/portal/security")
        assert "This device" in page.text
        assert "Firefox 121 on Windows 10" in page.text and "Chrome 120 on Linux" in page.text
        assert "127.0.0.1" in page.text
        ids = REVOKE_FORM.findall(page.text)
        assert len(ids) == 3
        current_id = ids[0]  # this device is listed first

        firefox_page = await firefox.get("/portal/security")
        firefox_id = REVOKE_FORM.findall(firefox_page.text)[0]
        revoked = await post(client, f"/portal/security/sessions/{firefox_id}/revoke")
        assert revoked.status_code == 303
        assert signed_out(await firefox.get("/portal"))
        assert (await chrome.get("/portal")).status_code == 200
        again = await post(client, f"/portal/security/sessions/{firefox_id}/revoke")
        assert again.status_code == 404  # already ended

        others = await post(client, "/portal/security/sessions/revoke-others")
        assert others.status_code == 303
        assert signed_out(await chrome.get("/portal"))
        assert (await client.get("/portal")).status_code == 200

    # Revoking one's own session is signing out.
    own = await post(client, f"/portal/security/sessions/{current_id}/revoke")
    assert signed_out(own)
    assert signed_out(await client.get("/portal"))
    actions = await actions_about(sessionmaker, client.person.user.id)
    assert "auth.session_revoked" in actions and "auth.sessions_revoked" in actions


async def test_revoking_someone_elses_session_answers_404_and_leaves_it(signed_in):
    victim = await signed_in("customer_owner")
    attacker = await signed_in("customer_owner")
    victim_page = await victim.get("/portal/security")
    victim_session = REVOKE_FORM.findall(victim_page.text)[0]

    answer = await post(attacker, f"/portal/security/sessions/{victim_session}/revoke")
    unknown = await post(attacker, f"/portal/security/sessions/{uuid.uuid4()}/revoke")
    not_an_id = await post(attacker, "/portal/security/sessions/not-an-id/revoke")

    assert answer.status_code == 404 and unknown.status_code == 404
    assert not_an_id.status_code in (404, 422)
    assert (await victim.get("/portal")).status_code == 200


async def test_login_history_shows_successes_and_failed_attempts(signed_in, web_url):
    client = await signed_in("customer_owner")
    async with httpx.AsyncClient(
        base_url=web_url, headers={"User-Agent": FIREFOX}, follow_redirects=False
    ) as stranger:
        await stranger.get("/login")
        failed = await stranger.post(
            "/login",
            data={"email": client.person.email, "password": "guessing-wrong-1",
                  "csrf_token": stranger.cookies["csrftoken"]},
        )  # fmt: skip
        assert failed.status_code == 401

    page = await client.get("/portal/security")
    history = page.text[page.text.index('id="history-heading"') :]
    assert "Sign-in failed" in history and "wrong password" in history
    assert "Firefox 121 on Windows 10" in history
    assert 'badge-danger">Failed' in history
    assert "Signed in" in history and 'badge-ok">Succeeded' in history
    full = await client.get("/portal/security/history")
    assert "Sign-in failed" in full.text
