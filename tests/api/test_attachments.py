"""Uploads are judged by their bytes and stored once by hash; a refused batch stores nothing;
`attachment_for` lets staff read any attachment and customers only their company's public ones."""

from __future__ import annotations

import hashlib
import io
import uuid
from pathlib import Path

import pytest
from starlette.datastructures import UploadFile

from api import attachments
from api.access import Principal
from api.attachments import UploadRefused, attachment_for, clean_filename, read_uploads, store
from db import file_checks
from tests.support.accounts import make_person
from tests.support.attachments import docx, pdf, png, ticket_with_files, upload, zip_of

MB = 1024 * 1024


@pytest.fixture
def uploads_settings(settings, tmp_path: Path):
    """The test settings with a folder of uploads of this test's own."""
    return settings.model_copy(update={"upload_dir": tmp_path / "uploads"})


def _files(root: Path) -> list[Path]:
    return sorted(path for path in root.rglob("*") if path.is_file()) if root.exists() else []


async def _refusal(settings, *uploads) -> UploadRefused:
    with pytest.raises(UploadRefused) as refused:
        await read_uploads(settings, list(uploads))
    return refused.value


# ---------------------------------------------------------------- accepted by content


@pytest.mark.parametrize(
    ("filename", "data", "content_type"),
    [
        ("screenshot.png", png(), "image/png"),
        ("Facture mars.PDF", pdf(), "application/pdf"),
        ("notes.txt", "Bonjour, le serveur répond « 502 ».\n".encode(), "text/plain"),
        ("nginx-error.log", b"2026/03/01 [error] upstream timed out\n", "text/plain"),
        (
            "syslog.log",
            b"<134>Mar  1 10:00:00 web1 nginx: <admin@example.dz> 1 < 2\n",
            "text/plain",
        ),
        ("export.csv", "nom;montant\nBenali;1\u202f234,50 DA\n".encode(), "text/csv"),
        ("report.docx", docx(), file_checks.DOCX),
        ("logs.zip", zip_of("a.log", "b.log"), "application/zip"),
        (
            "bounce.eml",
            b"From: a@example.dz\r\nSubject: x\r\n\r\n<html>hi</html>",
            "message/rfc822",
        ),
        ("sheet.ods", zip_of("content.xml", mimetype=file_checks.ODS), file_checks.ODS),
    ],
)
async def test_a_file_is_accepted_for_what_its_bytes_are(
    uploads_settings, filename, data, content_type
):
    # The browser's Content-Type says something else on purpose: it is never believed.
    [pending] = await read_uploads(uploads_settings, [upload(filename, data, "text/html")])

    assert pending.content_type == content_type
    assert pending.size == len(data)
    assert pending.sha256 == hashlib.sha256(data).hexdigest()
    assert pending.filename == filename


async def test_an_office_file_laid_out_in_another_order_is_still_recognised(uploads_settings):
    # `filetype` only sees "a zip" here; the archive's directory shows a workbook.
    data = zip_of(
        "[Content_Types].xml", "_rels/.rels", "docProps/app.xml", "docProps/core.xml",
        "xl/styles.xml", "xl/theme/theme1.xml", "xl/workbook.xml",
    )  # fmt: skip

    [pending] = await read_uploads(uploads_settings, [upload("budget.xlsx", data)])

    assert pending.content_type == file_checks.XLSX


# ---------------------------------------------------------------- refused


@pytest.mark.parametrize(
    ("filename", "data", "reason"),
    [
        ("invoice.pdf", png(), attachments.MISMATCH),
        ("invoice.pdf", b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 600, attachments.MISMATCH),
        ("setup.exe", b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 600, attachments.NOT_ACCEPTED),
        ("readme.txt", b"<!DOCTYPE html><html><script>alert(1)</script>", attachments.MARKUP),
        ("readme.txt", b"\xef\xbb\xbf  <svg onload=alert(1)>", attachments.MARKUP),
        ("invoice.pdf", b"<html><body>fake</body></html>", attachments.MARKUP),
        (
            "notes.txt",
            b"Dear support,\n<script>alert(document.cookie)</script>",
            attachments.MARKUP,
        ),
        ("logo.png", b'<svg xmlns="http://www.w3.org/2000/svg"/>', attachments.MARKUP),
        (
            "data.csv",
            b'<?xml version="1.0"?><x:script xmlns:x="http://www.w3.org/1999/xhtml"/>',
            attachments.MARKUP,
        ),
        ("notes.txt", b"see <IMG SRC=x onerror=alert(1)>", attachments.MARKUP),
        ("page.html", b"hello", attachments.NOT_ACCEPTED),
        ("script.js", b"alert(1)", attachments.NOT_ACCEPTED),
        ("notes.txt", b"\x00\x01\x02binary", attachments.MISMATCH),
        ("notes.txt", "caf\u00e9".encode("latin-1") + b" au lait", attachments.MISMATCH),
        ("archive.zip", docx(), attachments.MISMATCH),
        ("bounce.eml", b"just some text", attachments.MISMATCH),
        ("noextension", b"plain words", attachments.NOT_ACCEPTED),
    ],
)
async def test_a_file_whose_bytes_are_not_what_we_accept_is_refused(
    uploads_settings, filename, data, reason
):
    refused = await _refusal(uploads_settings, upload(filename, data, "application/pdf"))

    assert refused.message == reason
    assert refused.filename == filename
    assert refused.variables["name"] == filename


async def test_an_empty_file_is_refused(uploads_settings):
    refused = await _refusal(uploads_settings, upload("empty.txt", b""))

    assert refused.message == attachments.EMPTY


async def test_a_file_input_left_empty_is_ignored(uploads_settings):
    assert await read_uploads(uploads_settings, [upload("", b"")]) == []


async def test_a_file_of_exactly_the_limit_passes_and_one_byte_more_is_refused(settings, tmp_path):
    small = settings.model_copy(update={"upload_max_bytes": 1000, "upload_dir": tmp_path})
    [pending] = await read_uploads(small, [upload("a.txt", b"a" * 1000)])
    assert pending.size == 1000

    refused = await _refusal(small, upload("b.txt", b"a" * 1001))

    assert refused.message == attachments.TOO_LARGE
    assert refused.filename == "b.txt"


class _Endless(io.RawIOBase):
    """A file that never ends, counting what was read from it."""

    def __init__(self) -> None:
        self.served = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        return 0

    def readinto(self, buffer) -> int:
        buffer[:] = b"a" * len(buffer)
        self.served += len(buffer)
        return len(buffer)


async def test_reading_stops_as_soon_as_a_file_passes_the_limit(uploads_settings):
    endless = _Endless()

    refused = await _refusal(uploads_settings, UploadFile(endless, filename="huge.log"))

    assert refused.message == attachments.TOO_LARGE
    assert refused.variables["limit"] == "10"
    assert endless.served <= uploads_settings.upload_max_bytes + file_checks.CHUNK


async def test_more_files_than_allowed_are_refused_before_any_is_read(uploads_settings):
    endless = _Endless()
    files = [upload(f"{n}.png", png()) for n in range(uploads_settings.upload_max_files)]

    refused = await _refusal(uploads_settings, *files, UploadFile(endless, filename="one-more.txt"))

    assert refused.message == attachments.TOO_MANY
    assert refused.variables["limit"] == uploads_settings.upload_max_files
    assert endless.served == 0


async def test_a_nameless_file_with_content_is_refused(uploads_settings):
    refused = await _refusal(uploads_settings, upload("", b"something"))

    assert refused.message == attachments.NAMELESS


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("C:\\Users\\amina\\Desktop\\capture.png", "capture.png"),
        ("../../etc/passwd.txt", "passwd.txt"),
        ("facture\u202efdp.exe", "facturefdp.exe"),  # right-to-left override removed
        ("line\r\nbreak\x00.txt", "linebreak.txt"),
        ("  ..hidden.txt ", "hidden.txt"),
        ("Capture d’écran à 10h.png", "Capture d’écran à 10h.png"),
        ("a" * 300 + ".pdf", "a" * 251 + ".pdf"),
        ("..", ""),
    ],
)
def test_file_names_are_cleaned(raw, clean):
    assert clean_filename(raw) == clean


async def test_the_cleaned_name_is_what_is_stored(uploads_settings):
    [pending] = await read_uploads(uploads_settings, [upload("C:\\tmp\\x\u202e.png", png())])

    assert pending.filename == "x.png"


# ---------------------------------------------------------------- storing


async def test_a_refused_batch_stores_nothing(uploads_settings):
    root = uploads_settings.uploads_path
    root.mkdir(parents=True)
    (root / "keep").write_bytes(b"already here")
    before = _files(root)
    batch = [upload("ok.png", png()), upload("ok.pdf", pdf()), upload("evil.txt", b"<html>")]

    with pytest.raises(UploadRefused):
        await store(uploads_settings, await read_uploads(uploads_settings, batch))

    assert _files(root) == before


async def test_files_are_stored_under_their_hash_readable_by_the_group_only(uploads_settings):
    data = pdf("stored")
    [pending] = await read_uploads(uploads_settings, [upload("devis.pdf", data)])

    [stored] = await store(uploads_settings, [pending])

    sha = hashlib.sha256(data).hexdigest()
    path = uploads_settings.uploads_path / sha[:2] / sha
    assert path.read_bytes() == data
    assert path.stat().st_mode & 0o777 == 0o640
    assert _files(uploads_settings.uploads_path) == [path]  # no temporary file left
    assert uuid.UUID(stored.id)
    assert (stored.sha256, stored.filename, stored.content_type, stored.size) == (
        sha, "devis.pdf", "application/pdf", len(data),
    )  # fmt: skip


async def test_the_same_bytes_twice_are_stored_once(uploads_settings):
    data = png(3, 3)
    batch = [upload("a.png", data), upload("b.png", data)]

    first = await store(uploads_settings, await read_uploads(uploads_settings, batch))
    again = await store(
        uploads_settings, await read_uploads(uploads_settings, [upload("c.png", data)])
    )

    assert len(_files(uploads_settings.uploads_path)) == 1
    assert len({item.sha256 for item in first + again}) == 1
    assert len({item.id for item in first + again}) == 3  # one attachment each, one file


def test_a_stored_path_is_only_ever_a_hash(settings):
    with pytest.raises(ValueError, match="sha256"):
        attachments.stored_path(settings, "../../etc/passwd")


# ---------------------------------------------------------------- who may read


def _principal(person, *permissions: str) -> Principal:
    return Principal(person.user, None, frozenset(permissions or {"tickets.view"}))


async def test_who_may_read_an_attachment(sessionmaker, settings):
    owner = await make_person(sessionmaker, settings, role="customer_owner")
    stranger = await make_person(sessionmaker, settings, role="customer_owner")
    agent = await make_person(sessionmaker, settings, role="agent")
    company = owner.user.customer_id
    [public] = await ticket_with_files(sessionmaker, settings, company, [("a.png", png())])
    [note] = await ticket_with_files(
        sessionmaker, settings, company, [("internal.txt", b"staff only")], internal=True
    )

    async with sessionmaker() as db:
        mine = await attachment_for(db, _principal(owner), public.id)
        assert mine is not None and mine.id == public.id
        assert await attachment_for(db, _principal(owner), note.id) is None
        assert await attachment_for(db, _principal(stranger), public.id) is None
        assert await attachment_for(db, _principal(owner, "orders.view"), public.id) is None
        assert (await attachment_for(db, _principal(agent), note.id)).id == note.id
        assert await attachment_for(db, _principal(agent, "orders.view"), note.id) is None
        assert await attachment_for(db, _principal(agent), uuid.uuid4()) is None
