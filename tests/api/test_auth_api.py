"""Authentication for API clients over real HTTP: personal API tokens made in the account pages,
JWT access and refresh tokens (rotation, reuse detection, revocation), GET /api/v1/me."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator

import httpx
import pyotp
import pytest
import pytest_asyncio
from sqlalchemy import delete, select

from db.models import ApiToken, AuditEvent, AuthThrottle
from tests.support.accounts import STRONG_PASSWORD, make_person

NEW_TOKEN = re.compile(r'id="new-token">(cmk_[A-Za-z0-9_-]+)<')
REVOKE_TOKEN = re.compile(r'action="(/portal/account/tokens/[0-9a-f-]{36}/revoke)"')


@pytest.fixture(autouse=True)
async def _forget_local_failures(sessionmaker):
    """Failed attempts from 127.0.0.1 on purpose: the per-address count must not lock out the
    tests that come after."""
    yield
    async with sessionmaker() as db, db.begin():
        await db.execute(delete(AuthThrottle).where(AuthThrottle.key == "ip:127.0.0.1"))


@pytest_asyncio.fixture
async def api(web_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """An integrator's HTTP client: no browser session, and a cookie jar it never thinks about."""
    async with httpx.AsyncClient(base_url=web_url, timeout=20) as client:
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def is_problem(answer: httpx.Response, status: int) -> bool:
    return (
        answer.status_code == status
        and answer.headers["content-type"] == "application/problem+json"
        and answer.json()["status"] == status
    )


async def post_form(client: httpx.AsyncClient, path: str, data: dict) -> httpx.Response:
    return await client.post(path, data={**data, "csrf_token": client.cookies["csrftoken"]})


# -- personal API tokens -------------------------------------------------------------------------


async def test_personal_token_is_shown_once_works_with_its_scopes_only_and_can_be_revoked(
    signed_in, api, sessionmaker
):
    client = await signed_in("customer_owner")
    await client.get("/portal/account/tokens")

    created = await post_form(
        client,
        "/portal/account/tokens",
        {"name": "Billing <script>sync</script>", "scopes": ["tickets.view", "invoices.view"]},
    )

    assert created.status_code == 200 and created.headers["cache-control"] == "no-store"
    secret = NEW_TOKEN.search(created.text).group(1)
    assert "Billing &lt;script&gt;sync&lt;/script&gt;" in created.text
    assert "<script>sync" not in created.text
    listing = await client.get("/portal/account/tokens")
    assert secret not in listing.text and secret[:12] in listing.text  # the prefix only

    me = await api.get("/api/v1/me", headers=bearer(secret))
    assert me.status_code == 200
    body = me.json()
    assert body["email"] == client.person.email and body["kind"] == "customer"
    assert body["customer_id"] == str(client.person.user.customer_id)
    assert body["permissions"] == ["invoices.view", "tickets.view"]
    async with sessionmaker() as db:
        record = await db.scalar(select(ApiToken).where(ApiToken.user_id == client.person.user.id))
    assert record.last_used_at is not None and record.token_hash != secret

    revoke = REVOKE_TOKEN.search(listing.text).group(1)
    revoked = await post_form(client, revoke, {})
    assert revoked.status_code == 303
    refused = await api.get("/api/v1/me", headers=bearer(secret))
    assert is_problem(refused, 401)
    assert refused.headers["www-authenticate"].startswith("Bearer")
    assert "Revoked" in (await client.get("/portal/account/tokens")).text


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"name": "CI", "scopes": []}, "scopes", "at least one permission"),
        ({"name": "CI", "scopes": ["settings.edit"]}, "scopes", "among the permissions"),
        ({"name": "CI", "scopes": ["nothing.at_all"]}, "scopes", "among the permissions"),
        ({"name": "", "scopes": ["tickets.view"]}, "name", "required"),
        ({"name": "N" * 101, "scopes": ["tickets.view"]}, "name", "at most 100 characters"),
        ({"name": "CI", "scopes": ["tickets.view"], "expires_on": "2001-01-01"}, "expires_on",
         "after today"),
        ({"name": "CI", "scopes": ["tickets.view"], "expires_on": "soon"}, "expires_on",
         "like 2026-12-31"),
    ],
)  # fmt: skip
async def test_token_form_refuses_bad_input_and_creates_nothing(
    signed_in, sessionmaker, form, field, message
):
    client = await signed_in("customer_owner")
    await client.get("/portal/account/tokens")

    answer = await post_form(client, "/portal/account/tokens", form)

    assert answer.status_code == 422
    assert message in answer.text and "cmk_" not in answer.text
    assert f'id="f-{field}-error"' in answer.text
    if form["name"]:
        assert f'value="{form["name"]}"' in answer.text  # the input is kept
    async with sessionmaker() as db:
        count = len(
            list(
                await db.scalars(select(ApiToken).where(ApiToken.user_id == client.person.user.id))
            )
        )
    assert count == 0


async def test_token_with_an_expiry_date_and_staff_tokens(signed_in, api):
    client = await signed_in("agent")
    await client.get("/staff/account/tokens")
    page = await client.get("/staff/account/tokens")
    assert 'value="tickets.assign"' in page.text and 'value="settings.edit"' not in page.text

    created = await post_form(
        client,
        "/staff/account/tokens",
        {"name": "Queue report", "scopes": ["tickets.view"], "expires_on": "2999-12-31"},
    )
    secret = NEW_TOKEN.search(created.text).group(1)
    me = await api.get("/api/v1/me", headers=bearer(secret))
    assert me.json()["kind"] == "staff" and me.json()["permissions"] == ["tickets.view"]


async def test_revoking_someone_elses_token_answers_404_and_leaves_it(signed_in, api):
    owner = await signed_in("customer_owner")
    other = await signed_in("customer_owner")
    await owner.get("/portal/account/tokens")
    created = await post_form(
        owner, "/portal/account/tokens", {"name": "Mine", "scopes": ["tickets.view"]}
    )
    secret = NEW_TOKEN.search(created.text).group(1)
    revoke = REVOKE_TOKEN.search(created.text).group(1)
    await other.get("/portal/account/tokens")

    answer = await post_form(other, revoke, {})

    assert answer.status_code == 404
    assert (await api.get("/api/v1/me", headers=bearer(secret))).status_code == 200


# -- JWT pairs -----------------------------------------------------------------------------------


async def test_jwt_pair_refresh_rotates_and_a_reused_refresh_token_revokes_the_family(
    signed_in, api, sessionmaker, settings
):
    person = (await signed_in("customer_owner")).person

    issued = await api.post(
        "/api/v1/auth/token", json={"email": person.email, "password": STRONG_PASSWORD}
    )
    assert issued.status_code == 200, issued.text
    pair = issued.json()
    assert pair["token_type"] == "Bearer"
    assert pair["expires_in"] == settings.access_token_minutes * 60
    assert "tickets.view" in pair["scopes"] and "settings.edit" not in pair["scopes"]

    me = await api.get("/api/v1/me", headers=bearer(pair["access_token"]))
    assert me.status_code == 200 and me.json()["email"] == person.email
    assert me.json()["permissions"] == pair["scopes"]

    assert api.cookies.get("csrftoken")  # picked up on the way: it must not get in the way
    refreshed = await api.post(
        "/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]}
    )
    assert refreshed.status_code == 200, refreshed.text
    new_pair = refreshed.json()
    assert new_pair["refresh_token"] != pair["refresh_token"]
    assert (await api.get("/api/v1/me", headers=bearer(new_pair["access_token"]))).is_success

    reused = await api.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert is_problem(reused, 401)
    stolen_family = await api.post(
        "/api/v1/auth/refresh", json={"refresh_token": new_pair["refresh_token"]}
    )
    assert is_problem(stolen_family, 401)
    async with sessionmaker() as db:
        recorded = await db.scalar(
            select(AuditEvent).where(
                AuditEvent.action == "auth.refresh_token_reused",
                AuditEvent.target_id == str(person.user.id),
            )
        )
    assert recorded is not None


async def test_revoke_signs_the_api_client_out(signed_in, api):
    person = (await signed_in("customer_owner")).person
    pair = (
        await api.post(
            "/api/v1/auth/token", json={"email": person.email, "password": STRONG_PASSWORD}
        )
    ).json()

    revoked = await api.post("/api/v1/auth/revoke", json={"refresh_token": pair["refresh_token"]})
    garbage = await api.post("/api/v1/auth/revoke", json={"refresh_token": "not-a-token"})
    after = await api.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})

    assert revoked.status_code == 204 and garbage.status_code == 204
    assert is_problem(after, 401)


async def test_requested_scopes_are_limited_to_the_accounts_own(signed_in, api):
    person = (await signed_in("customer_member")).person

    limited = await api.post(
        "/api/v1/auth/token",
        json={"email": person.email, "password": STRONG_PASSWORD,
              "scopes": ["tickets.view", "settings.edit"]},
    )  # fmt: skip
    unknown = await api.post(
        "/api/v1/auth/token",
        json={"email": person.email, "password": STRONG_PASSWORD, "scopes": ["root.everything"]},
    )

    assert limited.json()["scopes"] == ["tickets.view"]
    me = await api.get("/api/v1/me", headers=bearer(limited.json()["access_token"]))
    assert me.json()["permissions"] == ["tickets.view"]
    assert is_problem(unknown, 422) and "root.everything" in unknown.json()["detail"]


async def test_wrong_credentials_answer_401_and_too_many_429(signed_in, api, sessionmaker):
    person = (await signed_in("customer_owner")).person
    unknown = await api.post(
        "/api/v1/auth/token", json={"email": "nobody@example.dz", "password": "whatever-it-is"}
    )
    assert is_problem(unknown, 401)

    answers = [
        await api.post(
            "/api/v1/auth/token", json={"email": person.email, "password": f"wrong-{attempt}"}
        )
        for attempt in range(5)
    ]
    assert all(is_problem(answer, 401) for answer in answers[:4])
    assert is_problem(answers[4], 429)
    assert int(answers[4].headers["retry-after"]) > 0
    # Locked: even the right password is refused until the lockout ends.
    right = await api.post(
        "/api/v1/auth/token", json={"email": person.email, "password": STRONG_PASSWORD}
    )
    assert is_problem(right, 429)
    async with sessionmaker() as db, db.begin():
        await db.execute(
            delete(AuthThrottle).where(AuthThrottle.key == f"account:{person.email.casefold()}")
        )


async def test_two_factor_accounts_must_send_a_single_use_code(signed_in, api):
    person = (await signed_in("customer_owner", two_factor=True)).person
    credentials = {"email": person.email, "password": STRONG_PASSWORD}
    # The sign-in of the fixture spent the current step; the next one is within the drift.
    code = pyotp.TOTP(person.totp_secret).at(time.time() + 30)

    missing = await api.post("/api/v1/auth/token", json=credentials)
    wrong = await api.post("/api/v1/auth/token", json={**credentials, "totp_code": "000000"})
    right = await api.post("/api/v1/auth/token", json={**credentials, "totp_code": code})
    reused = await api.post("/api/v1/auth/token", json={**credentials, "totp_code": code})

    assert is_problem(missing, 401) and "totp_code" in missing.json()["detail"]
    assert is_problem(wrong, 401)
    assert right.status_code == 200 and right.json()["access_token"]
    assert is_problem(reused, 401)


async def test_staff_without_two_factor_cannot_get_tokens(api, sessionmaker, settings):
    person = await make_person(sessionmaker, settings, role="agent", two_factor=False)
    answer = await api.post(
        "/api/v1/auth/token", json={"email": person.email, "password": STRONG_PASSWORD}
    )
    assert is_problem(answer, 403) and "two-step" in answer.json()["detail"]


@pytest.mark.parametrize(
    "body",
    [
        {"email": "x" * 400 + "@example.dz", "password": "p"},
        {"email": "a@example.dz", "password": "p" * 2000},
        {"email": "a@example.dz", "password": "p", "scopes": ["s" * 60]},
        {"email": "a@example.dz", "password": "p", "admin": True},
        {"email": "a@example.dz"},
        {"refresh_token": "x"},
    ],
)
async def test_malformed_token_requests_are_422_problems(api, body):
    answer = await api.post("/api/v1/auth/token", json=body)
    assert is_problem(answer, 422)
    assert answer.json()["errors"]


async def test_me_needs_a_valid_bearer_and_a_browser_session_still_needs_csrf(api, signed_in):
    anonymous = await api.get("/api/v1/me")
    forged = await api.get("/api/v1/me", headers=bearer("cmk_forged"))
    assert is_problem(anonymous, 401) and is_problem(forged, 401)

    browser = await signed_in("customer_owner")
    me = await browser.get("/api/v1/me")
    assert me.status_code == 200 and me.json()["email"] == browser.person.email
    # A signed-in browser posting JSON is still held to the CSRF check.
    answer = await browser.post(
        "/api/v1/auth/revoke",
        json={"refresh_token": "x"},
        headers={"Origin": "https://evil.example"},
    )
    assert answer.status_code == 403


async def test_openapi_documents_the_auth_endpoints(api):
    schema = (await api.get("/api/openapi.json")).json()

    token = schema["paths"]["/api/v1/auth/token"]["post"]
    assert token["summary"] and token["tags"] == ["auth"]
    assert "application/problem+json" in token["responses"]["401"]["content"]
    assert "429" in token["responses"]
    assert {"/api/v1/auth/refresh", "/api/v1/auth/revoke", "/api/v1/me"} <= set(schema["paths"])
    me = schema["paths"]["/api/v1/me"]["get"]["responses"]["200"]["content"]["application/json"]
    assert me["schema"]["$ref"].endswith("/CurrentUser")
