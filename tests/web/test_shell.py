"""The web shell over real HTTP: areas, health, errors, languages, CSRF, security headers, htmx."""

from __future__ import annotations

import re

import httpx
import pytest

from web.csrf import CSRF_COOKIE

CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


async def _csrf(http: httpx.AsyncClient, path: str = "/login") -> str:
    page = await http.get(path)
    return CSRF_INPUT.search(page.text).group(1)


@pytest.mark.parametrize(
    ("role", "path", "heading"),
    [
        ("customer_owner", "/portal", "Customer portal"),
        ("agent", "/staff", "Back-office"),
        ("admin", "/admin", "Admin console"),
    ],
)
async def test_each_area_renders_with_its_navigation(signed_in, role, path, heading):
    client = await signed_in(role)
    page = await client.get(path, headers={"Accept-Language": "en"})

    assert page.status_code == 200
    assert heading in page.text
    assert f'href="{path}" aria-current="page"' in page.text
    assert '<main id="main"' in page.text


async def test_healthz_reports_postgres_and_temporal(http):
    answer = await http.get("/healthz")

    assert answer.status_code == 200
    body = answer.json()
    assert body["status"] == "ok"
    assert body["postgres"]["ok"] and "detail" not in body["postgres"]
    assert body["temporal"]["ok"]


async def test_api_status_and_openapi(http):
    status = await http.get("/api/v1/status")
    schema = await http.get("/api/openapi.json")
    docs = await http.get("/api/docs")

    assert status.status_code == 200 and status.json()["ok"] is True
    assert "/api/v1/status" in schema.json()["paths"]
    assert docs.status_code == 200


async def test_unknown_page_is_a_styled_404_and_unknown_api_path_a_problem(http):
    page = await http.get("/staff/nothing-here", headers={"Accept-Language": "en"})
    api = await http.get("/api/v1/nothing-here")

    assert page.status_code == 404 and "Page not found" in page.text
    assert 'class="error-page"' in page.text
    assert api.status_code == 404
    assert api.headers["content-type"] == "application/problem+json"
    assert api.json()["status"] == 404


async def test_language_follows_accept_language_then_the_chosen_cookie(http):
    french = await http.get("/login", headers={"Accept-Language": "fr-DZ,fr;q=0.9,en;q=0.5"})
    english = await http.get("/login", headers={"Accept-Language": "de, en;q=0.8"})
    assert '<html lang="fr"' in french.text and "Langue" in french.text
    assert '<html lang="en"' in english.text and "Language" in english.text

    token = await _csrf(http)
    switched = await http.post(
        "/language",
        data={"lang": "fr", "next": "/forgot-password", "csrf_token": token},
        headers={"Accept-Language": "en"},
    )
    assert switched.status_code == 303 and switched.headers["location"] == "/forgot-password"
    chosen = await http.get("/forgot-password", headers={"Accept-Language": "en"})
    assert '<html lang="fr"' in chosen.text
    http.cookies.delete("lang")


async def test_language_switch_never_redirects_off_site(http):
    token = await _csrf(http)
    answer = await http.post(
        "/language", data={"lang": "en", "next": "//evil.example/", "csrf_token": token}
    )
    assert answer.headers["location"] == "/"


async def test_state_changing_request_without_csrf_token_is_refused(http, web_url):
    await http.get("/login")  # receives the CSRF cookie
    assert http.cookies.get(CSRF_COOKIE)

    no_token = await http.post("/language", data={"lang": "en"})
    wrong_token = await http.post("/language", data={"lang": "en", "csrf_token": "forged"})
    cross_origin = await http.post(
        "/language",
        data={"lang": "en", "csrf_token": http.cookies[CSRF_COOKIE]},
        headers={"Origin": "https://evil.example"},
    )
    fresh_client = httpx.AsyncClient(base_url=web_url)
    async with fresh_client:
        no_cookie = await fresh_client.post("/language", data={"lang": "en", "csrf_token": "x"})
    api = await http.post("/api/v1/status")

    for refused in (no_token, wrong_token, cross_origin, no_cookie):
        assert refused.status_code == 403
    assert api.status_code == 403 and api.json()["status"] == 403


async def test_htmx_header_token_is_accepted(http):
    token = await _csrf(http)
    answer = await http.post(
        "/language",
        data={"lang": "en", "next": "/portal"},
        headers={"X-CSRF-Token": token, "HX-Request": "true"},
    )
    assert answer.status_code == 303


async def test_security_headers_forbid_inline_script_and_framing(http):
    page = await http.get("/login")

    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "same-origin"
    cookie = next(value for key, value in page.headers.multi_items() if key == "set-cookie")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


async def test_htmx_request_gets_the_fragment_and_boosted_navigation_the_page(signed_in):
    http = await signed_in("admin")
    fragment = await http.get("/admin/system/health", headers={"HX-Request": "true"})
    boosted = await http.get(
        "/admin/system/health", headers={"HX-Request": "true", "HX-Boosted": "true"}
    )

    assert 'id="health-panel"' in fragment.text
    assert "<html" not in fragment.text
    assert "<html" in boosted.text


async def test_test_email_form_keeps_input_and_explains_an_invalid_address(signed_in):
    http = await signed_in("admin")
    token = await _csrf(http, "/admin/system")
    answer = await http.post(
        "/admin/system/test-email",
        data={"to": "not-an-address<script>", "csrf_token": token},
        headers={"Accept-Language": "en"},
    )

    assert answer.status_code == 422
    assert 'value="not-an-address&lt;script&gt;"' in answer.text
    assert "Enter a valid email address" in answer.text
    assert "<script>" not in answer.text.split("<body", 1)[1]


async def test_test_email_form_sends_through_the_workflow(signed_in, smtp_sink, unique):
    http = await signed_in("admin")
    address = f"admin-{unique}@example.dz"
    token = await _csrf(http, "/admin/system")

    answer = await http.post(
        "/admin/system/test-email",
        data={"to": address, "csrf_token": token},
        headers={"Accept-Language": "en"},
    )

    assert answer.status_code == 303 and answer.headers["location"] == "/admin/system#outbox"
    [mail] = await smtp_sink.wait_for(address)
    assert mail.message["Subject"] == "CloudManager test message"
    page = await http.get("/admin/system", headers={"Accept-Language": "en"})
    assert f"Test message queued for {address}" in page.text  # the flash, shown once
    assert address in page.text
    again = await http.get("/admin/system", headers={"Accept-Language": "en"})
    assert "Test message queued" not in again.text
