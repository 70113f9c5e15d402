"""Bad input changes nothing and is answered clearly; what people type is escaped wherever it is
shown and never runs; the audit trail cannot be switched off by the application's own database
role; security headers and the https session cookie.

(Plain UPDATE / DELETE / TRUNCATE of audit rows is tested in tests/db/test_schema.py.)
"""

from __future__ import annotations

import html
import re
import uuid

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from db.models import AuditEvent, Customer, User
from tests.support.accounts import STRONG_PASSWORD, Person, csrf_token, make_person, sign_in
from tests.support.browser import browser_sign_in
from tests.support.security import api_routes, area_pages, client_from
from web.app import create_app

# -- the audit trail -----------------------------------------------------------------------------

SWITCH_OFF_THE_AUDIT_RULE = {
    "disable the trigger": "ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only",
    "drop the trigger": "DROP TRIGGER audit_events_append_only ON audit_events",
    "replace the trigger function": (
        "CREATE OR REPLACE FUNCTION audit_events_refuse_change() RETURNS trigger "
        "LANGUAGE plpgsql AS $$ BEGIN RETURN OLD; END; $$"
    ),
    "skip triggers as a replica": "SET LOCAL session_replication_role = replica",
}


@pytest.mark.parametrize(
    "statement", SWITCH_OFF_THE_AUDIT_RULE.values(), ids=list(SWITCH_OFF_THE_AUDIT_RULE)
)
async def test_application_role_cannot_switch_off_the_append_only_audit_rule(
    sessionmaker, statement
):
    async with sessionmaker() as db, db.begin():
        event = AuditEvent(action="test.evidence", actor_label="security-test")
        db.add(event)
    async with sessionmaker() as db:
        try:
            await db.execute(text("SET LOCAL lock_timeout = '5s'"))
            with pytest.raises(DBAPIError):
                await db.execute(text(statement))
                await db.execute(text("DELETE FROM audit_events WHERE id = :id"), {"id": event.id})
        finally:
            await db.rollback()  # whatever got through is undone: the database is shared
    async with sessionmaker() as db:
        assert await db.get(AuditEvent, event.id) is not None


# -- registration refuses bad input and writes nothing -------------------------------------------

TEN_THOUSAND = 10_000


def _valid_form(unique: str) -> dict[str, str]:
    return {
        "kind": "company",
        "company_name": f"Oasis Conseil {unique}",
        "full_name": "Amina Benali",
        "email": f"amina.{unique}@example.dz",
        "password": STRONG_PASSWORD,
    }


BAD_REGISTRATIONS = {
    # id: (changes to a valid form, the field whose error must show)
    "oversized company name": ({"company_name": "C" * TEN_THOUSAND}, "company_name"),
    "oversized full name": ({"full_name": "N" * TEN_THOUSAND}, "full_name"),
    "oversized email": ({"email": "a" * TEN_THOUSAND + "@example.dz"}, "email"),
    "oversized password": ({"password": "Tilleul-Horizon-" * 625}, "password"),
    "right-to-left override": ({"full_name": "Amina \u202eilaneB"}, "full_name"),
    "only zero-width characters": ({"full_name": "\u200b\u200c\u200d\u2060"}, "full_name"),
    "zero-width joiners in a name": ({"full_name": "Ami\u200dna Ben\u200dali"}, "full_name"),
    "NUL byte": ({"full_name": "Amina\x00Benali"}, "full_name"),
    "stacked combining characters": (
        {"full_name": "A" + "\u0301\u0302\u0303\u0308" * 10 + "mina"},
        "full_name",
    ),
    "weak password": ({"password": "password1234"}, "password"),
    "password derived from the email": (
        {"email": "zephyrine.{unique}@example.dz", "password": "Zephyrine-Granit-Lotus-71"},
        "password",
    ),
    "display name around the email": ({"email": '"a@b" <c@d>'}, "email"),
}


async def _counts(sessionmaker) -> tuple[int, int]:
    async with sessionmaker() as db:
        users = await db.scalar(select(func.count()).select_from(User))
        customers = await db.scalar(select(func.count()).select_from(Customer))
    return users, customers


def _input_value(page: str, name: str) -> str | None:
    tag = re.search(rf'<input[^>]*\bname="{name}"[^>]*>', page)
    if tag is None:
        return None
    value = re.search(r'\bvalue="([^"]*)"', tag.group(0))
    return html.unescape(value.group(1)) if value else None


@pytest.mark.parametrize(
    ("changes", "field"), BAD_REGISTRATIONS.values(), ids=list(BAD_REGISTRATIONS)
)
async def test_bad_registration_is_refused_clearly_with_the_form_kept_and_nothing_written(
    http, sessionmaker, unique, changes, field
):
    form = _valid_form(unique) | {
        key: value.format(unique=unique) for key, value in changes.items()
    }
    before = await _counts(sessionmaker)

    token = await csrf_token(http, "/register")
    answer = await http.post(
        "/register", data=form | {"csrf_token": token}, headers={"Accept-Language": "en"}
    )

    assert 400 <= answer.status_code < 500
    assert 'action="/register"' in answer.text, "the registration form is shown again"
    assert f'id="f-{field}-error"' in answer.text, f"an error next to {field}"
    for kept in ("company_name", "full_name", "email"):
        assert _input_value(answer.text, kept) == form[kept], f"{kept} is kept"
    assert _input_value(answer.text, "password") is None
    assert form["password"] not in answer.text and html.escape(form["password"]) not in answer.text
    assert await _counts(sessionmaker) == before
    async with sessionmaker() as db:
        assert await db.scalar(select(User).where(User.email == form["email"])) is None


# -- script payloads are text, wherever they are shown -------------------------------------------

SCRIPT_NAME = "<script>alert(1)</script>"
ATTRIBUTE_BREAKER = '"><img src=x onerror=alert(2)>'
VERIFY_LINK = re.compile(r"/verify-email\?token=([A-Za-z0-9_\-]+)")


async def _register_with_payloads(http, smtp_sink, unique) -> tuple[str, str]:
    """Registers a company whose owner's and company's names are script payloads; verifies the
    address with the link from the email. Returns (email, the email's HTML body)."""
    email = f"payload.{unique}@example.dz"
    form = {
        "kind": "company",
        "company_name": ATTRIBUTE_BREAKER,
        "full_name": SCRIPT_NAME,
        "email": email,
        "password": STRONG_PASSWORD,
        "csrf_token": await csrf_token(http, "/register"),
    }
    registered = await http.post("/register", data=form)
    assert registered.status_code == 200, registered.text[:300]
    [mail] = await smtp_sink.wait_for(email)
    verified = await http.get(f"/verify-email?token={VERIFY_LINK.search(mail.text).group(1)}")
    assert verified.status_code == 200
    return email, mail.html


def _raw_payloads(page: str) -> list[str]:
    return [payload for payload in (SCRIPT_NAME, ATTRIBUTE_BREAKER) if payload in page]


async def test_script_payloads_in_names_are_escaped_on_every_page_that_shows_them(
    http, web_url, signed_in, smtp_sink, settings, unique
):
    email, mail_html = await _register_with_payloads(http, smtp_sink, unique)
    app = create_app(settings)
    pages = area_pages(app)

    owner = client_from(web_url)
    async with owner:
        await sign_in(owner, Person(User(email=email), STRONG_PASSWORD, None))
        portal = {
            page.path: (await owner.get(page.path)).text for page in pages if page.area == "/portal"
        }
    admin = await signed_in("admin")
    back_office = {}
    for page in pages:
        if page.area != "/portal":
            # Lists page their rows: ask each one for this person (pages without search ignore q).
            searched = await admin.get(page.path, params={"q": email})
            if searched.headers.get("content-type", "").startswith("text/html"):
                back_office[page.path] = searched.text  # a CSV export is data, not a page

    shown_as_text = html.escape(SCRIPT_NAME, quote=False)
    assert shown_as_text in portal["/portal"]
    assert any(shown_as_text in page for page in back_office.values()), "e.g. the user list"
    assert not _raw_payloads(mail_html)
    unescaped = {path: _raw_payloads(text) for path, text in (portal | back_office).items()}
    assert not {path: found for path, found in unescaped.items() if found}


@pytest.mark.e2e
async def test_script_payloads_in_names_never_run_in_the_browser(
    http, page, smtp_sink, settings, unique
):
    email, _ = await _register_with_payloads(http, smtp_sink, unique)
    dialogs: list[str] = []

    async def on_dialog(dialog) -> None:
        dialogs.append(dialog.message)
        await dialog.dismiss()

    page.on("dialog", on_dialog)

    await browser_sign_in(page, Person(User(email=email), STRONG_PASSWORD, None))
    for portal_page in area_pages(create_app(settings)):
        if portal_page.area == "/portal":
            await page.goto(portal_page.path)
            await page.wait_for_load_state("load")

    assert dialogs == []
    assert await page.get_by_text(SCRIPT_NAME).count() >= 1  # the name is there, as text


# -- NUL bytes elsewhere -------------------------------------------------------------------------


async def test_nul_byte_in_the_sign_in_email_is_a_plain_refusal(web_url):
    async with client_from(web_url) as client:
        token = await csrf_token(client)
        answer = await client.post(
            "/login",
            data={"email": "amina\x00@example.dz", "password": "x" * 12, "csrf_token": token},
        )

    assert answer.status_code == 401
    assert "Email or password is not correct." in answer.text


async def test_nul_byte_in_the_forgot_password_email_gets_the_usual_answer(web_url):
    async with client_from(web_url) as client:
        token = await csrf_token(client, "/forgot-password")
        answer = await client.post(
            "/forgot-password", data={"email": "amina\x00@example.dz", "csrf_token": token}
        )

    assert answer.status_code == 200
    assert "If an account exists for this address" in answer.text


# -- headers -------------------------------------------------------------------------------------


def _directives(policy: str) -> dict[str, list[str]]:
    parsed = {}
    for directive in filter(None, (part.strip() for part in policy.split(";"))):
        name, *values = directive.split()
        parsed[name.lower()] = values
    return parsed


# Swagger UI starts from an inline <script>: /api/docs alone gets 'unsafe-inline', on purpose
# (web/security_headers.py). Every other HTML answer must do without.
INLINE_SCRIPT_EXCEPTIONS = {"/api/docs"}


async def test_html_pages_forbid_inline_script_and_framing(http, signed_in, settings):
    app = create_app(settings)
    customer, admin = await signed_in("customer_owner"), await signed_in("admin")
    answers = []
    for route in api_routes(app):
        if "GET" not in route.methods or route.has_path_params:
            continue
        if route.path in INLINE_SCRIPT_EXCEPTIONS:
            continue
        client = {"/portal": customer, None: http}.get(route.area, admin)
        answers.append((route.path, await client.get(route.path)))
    answers.append(("(404 page)", await http.get(f"/no-such-page-{uuid.uuid4().hex}")))
    answers.append(("(403 page)", await customer.get("/admin")))

    html_answers = [
        (path, answer)
        for path, answer in answers
        if answer.headers.get("content-type", "").startswith("text/html")
    ]
    assert len(html_answers) >= 5
    wrong = []
    for path, answer in html_answers:
        policy = _directives(answer.headers.get("content-security-policy", ""))
        scripts = policy.get("script-src", policy.get("default-src"))
        if scripts is None or "'unsafe-inline'" in scripts:
            wrong.append(f"{path}: script-src {scripts}")
        if policy.get("frame-ancestors") != ["'none'"]:
            wrong.append(f"{path}: frame-ancestors {policy.get('frame-ancestors')}")
    assert not wrong, "\n".join(wrong)


@pytest.fixture
async def https_client(settings):
    """The app called directly over ASGI as https://testserver, its lifespan entered by hand."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="https://testserver", follow_redirects=False
        ) as client:
            yield client


async def test_session_cookie_over_https_is_host_prefixed_secure_and_http_only(
    https_client, sessionmaker, settings
):
    person = await make_person(sessionmaker, settings, role="customer_owner")

    signed = await sign_in(https_client, person)

    cookies = [value for key, value in signed.headers.multi_items() if key == "set-cookie"]
    [session] = [cookie for cookie in cookies if "cm_session=" in cookie]
    attributes = [part.strip().lower() for part in session.split(";")]
    assert session.startswith("__Host-cm_session=")
    assert {"secure", "httponly", "path=/", "samesite=lax"} <= set(attributes)
    assert not any(part.startswith("domain") for part in attributes)
    assert (await https_client.get("/portal")).status_code == 200


async def test_https_answers_carry_hsts_and_plain_http_ones_do_not(https_client, http):
    over_https = await https_client.get("/login")
    over_http = await http.get("/login")

    hsts = over_https.headers["strict-transport-security"]
    max_age = int(re.search(r"max-age=(\d+)", hsts).group(1))
    assert max_age >= 365 * 24 * 3600
    assert "strict-transport-security" not in over_http.headers
