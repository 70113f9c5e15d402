"""Downloads and previews through the real app: only for those who may read the attachment (404
for everyone else, as for an unknown id), always with headers that stop a file from running as a
page, and the macros that show attachments and offer the file input."""

from __future__ import annotations

import uuid
from types import SimpleNamespace
from urllib.parse import quote

import httpx

import web.routes.attachments  # noqa: F401  (the macros read the accepted types it publishes)
from tests.support.attachments import pdf, png, ticket_with_files, zip_of
from web.templating import templates


async def _company_files(signed_in, sessionmaker, settings, files, **options):
    owner = await signed_in("customer_owner")
    rows = await ticket_with_files(
        sessionmaker, settings, owner.person.user.customer_id, files, **options
    )
    return owner, rows


def _assert_safe(answer: httpx.Response) -> None:
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["cache-control"] == "private"
    policy = answer.headers["content-security-policy"]
    assert policy.startswith("sandbox; default-src 'none'")
    assert "script-src" not in policy


async def test_an_agent_downloads_any_attachment_as_a_file(signed_in, sessionmaker, settings):
    data = pdf("Devis 2026")
    _, [row] = await _company_files(
        signed_in, sessionmaker, settings, [("Devis n°42 “final”.pdf", data)], internal=True
    )
    agent = await signed_in("agent")

    answer = await agent.get(f"/attachments/{row.id}")

    assert answer.status_code == 200
    assert answer.content == data
    assert answer.headers["content-type"] == "application/pdf"
    _assert_safe(answer)
    disposition = answer.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="Devis n_42 _final_.pdf"')
    assert disposition.endswith("filename*=UTF-8''" + quote("Devis n°42 “final”.pdf", safe=""))


async def test_a_customer_downloads_the_files_of_their_company(signed_in, sessionmaker, settings):
    data = "id;état\n1;ouvert\n".encode()
    owner, [row] = await _company_files(signed_in, sessionmaker, settings, [("liste.csv", data)])

    answer = await owner.get(f"/attachments/{row.id}")

    assert answer.status_code == 200
    assert answer.content == data
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    _assert_safe(answer)


async def test_a_customer_of_another_company_gets_404(signed_in, sessionmaker, settings):
    _, [row] = await _company_files(signed_in, sessionmaker, settings, [("a.png", png())])
    stranger = await signed_in("customer_owner")

    for path in (f"/attachments/{row.id}", f"/attachments/{row.id}/preview"):
        answer = await stranger.get(path)
        assert answer.status_code == 404, path
        assert "a.png" not in answer.text


async def test_a_customer_gets_404_for_a_file_on_an_internal_note(
    signed_in, sessionmaker, settings
):
    owner, [row] = await _company_files(
        signed_in, sessionmaker, settings, [("diagnostic.txt", b"staff only")], internal=True
    )

    assert (await owner.get(f"/attachments/{row.id}")).status_code == 404


async def test_unknown_and_malformed_ids_are_404(signed_in):
    agent = await signed_in("agent")

    for path in (f"/attachments/{uuid.uuid4()}", "/attachments/not-an-id/preview"):
        assert (await agent.get(path)).status_code == 404, path


async def test_an_image_previews_inline(signed_in, sessionmaker, settings):
    data = png(4, 4)
    owner, [row] = await _company_files(signed_in, sessionmaker, settings, [("écran.png", data)])

    answer = await owner.get(f"/attachments/{row.id}/preview")

    assert answer.status_code == 200
    assert answer.content == data
    assert answer.headers["content-type"] == "image/png"
    assert answer.headers["content-disposition"].startswith("inline; ")
    _assert_safe(answer)


async def test_a_zip_has_no_preview_but_downloads(signed_in, sessionmaker, settings):
    owner, [row] = await _company_files(
        signed_in, sessionmaker, settings, [("logs.zip", zip_of("a.log"))]
    )

    assert (await owner.get(f"/attachments/{row.id}/preview")).status_code == 404
    assert (await owner.get(f"/attachments/{row.id}")).status_code == 200


async def test_an_anonymous_visitor_is_sent_to_sign_in(web_url, signed_in, sessionmaker, settings):
    _, [row] = await _company_files(signed_in, sessionmaker, settings, [("a.png", png())])
    path = f"/attachments/{row.id}/preview"

    async with httpx.AsyncClient(base_url=web_url) as anonymous:
        answer = await anonymous.get(path)

    assert answer.status_code == 303
    assert answer.headers["location"] == f"/login?next={quote(path, safe='')}"


# ---------------------------------------------------------------- the macros


def _render(source: str, settings, **context) -> str:
    request = SimpleNamespace(
        state=SimpleNamespace(locale="en", user=None),
        app=SimpleNamespace(state=SimpleNamespace(settings=settings)),
    )
    return templates.env.from_string(source).render(request=request, settings=settings, **context)


def test_the_attachment_list_shows_each_file_with_its_links(settings):
    files = [
        SimpleNamespace(id="i1", filename="écran <1>.png", content_type="image/png", size=2048),
        SimpleNamespace(
            id="p1", filename="devis.pdf", content_type="application/pdf", size=3 * 1024 * 1024
        ),
        SimpleNamespace(id="z1", filename="logs.zip", content_type="application/zip", size=12),
    ]

    html = _render(
        '{% from "_macros/attachments.html" import attachment_list with context %}'
        "{{ attachment_list(files) }}",
        settings,
        files=files,
    )

    assert '<img src="/attachments/i1/preview" alt="écran &lt;1&gt;.png" loading="lazy">' in html
    assert 'href="/attachments/p1/preview" target="_blank"' in html
    assert "/attachments/z1/preview" not in html
    assert html.count(">Download<") == 3
    assert "2 KB" in html and "3 MB" in html and "12 bytes" in html
    assert "PDF document" in html and "ZIP archive" in html


def test_the_file_input_states_the_limits(settings):
    html = _render(
        '{% from "_macros/attachments.html" import attachment_input with context %}'
        "{{ attachment_input() }}",
        settings,
    )

    assert 'type="file" multiple' in html and 'name="attachments"' in html
    assert 'accept=".png,.jpg,.jpeg,' in html and ".exe" not in html
    assert '<label for="f-attachments">Attachments</label>' in html
    assert f"Up to {settings.upload_max_files} files of 10 MB each." in html
    assert "PDF" in html and "DOCX" in html
