"""Ticket attachments: uploads checked by their content, stored once by hash, and the one
permission check every download goes through.

The type of a file is what its bytes say (`filetype`), never its name or the browser's
Content-Type; the extension must agree with the bytes, so a renamed executable or web page is
refused. Markup (HTML, SVG, XML) is refused outright: served from our origin it would be stored
XSS. Bytes live under `uploads/<sha[:2]>/<sha>`, outside the web root, and are only ever served by
`web.routes.attachments` after `attachment_for` said yes.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import hashlib
import io
import os
import re
import tempfile
import unicodedata
import uuid
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import BinaryIO

import filetype
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import UploadFile

from api.access import Principal
from api.settings import Settings
from db import file_store
from db.models import Ticket, TicketAttachment, TicketMessage
from i18n import N_
from workflows.ticket_messages import Attachment

TEXT = "text/plain"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ODT = "application/vnd.oasis.opendocument.text"
ODS = "application/vnd.oasis.opendocument.spreadsheet"

# Content type (as stored and served) → the extensions a file of that type may carry.
ALLOWED_TYPES: dict[str, tuple[str, ...]] = {
    "image/png": ("png",),
    "image/jpeg": ("jpg", "jpeg"),
    "image/gif": ("gif",),
    "image/webp": ("webp",),
    "application/pdf": ("pdf",),
    TEXT: ("txt", "log"),
    "text/csv": ("csv",),
    "message/rfc822": ("eml",),
    "application/zip": ("zip",),
    DOCX: ("docx",),
    XLSX: ("xlsx",),
    ODT: ("odt",),
    ODS: ("ods",),
}
EXTENSIONS = {ext: kind for kind, exts in ALLOWED_TYPES.items() for ext in exts}
# What `<input accept>` offers and the help text lists.
ACCEPT = ",".join(f".{ext}" for ext in EXTENSIONS)
ACCEPTED_NAMES = ", ".join(ext.upper() for ext in EXTENSIONS if ext not in ("jpeg",))
# Shown inline (new tab or <img>); everything else is only ever a download.
PREVIEWABLE = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf"})
# Types that are UTF-8 text without a magic number: recognised by decoding, named by extension.
TEXT_TYPES = frozenset({TEXT, "text/csv", "message/rfc822"})

TOO_MANY = N_("You can attach at most %(limit)s files at once.")
NAMELESS = N_("A file without a name cannot be attached.")
EMPTY = N_("%(name)s is empty.")
TOO_LARGE = N_("%(name)s is larger than %(limit)s MB.")
NOT_ACCEPTED = N_("%(name)s is not a type of file we accept (%(accepted)s).")
MISMATCH = N_("The content of %(name)s does not match its extension.")
MARKUP = N_("%(name)s looks like a web page or a script, which cannot be attached.")

CHUNK = 64 * 1024
HEAD = 8192  # what `filetype` looks at
# Tags that make a browser (or an old one sniffing) treat text as a page, looked for where
# sniffers look: the start of the file. Syslog's "<134>" or a "<user@host>" stay plain text.
_MARKUP_TAGS = re.compile(
    rb"<(?:!doctype|!--|\?xml|html|head|body|script|iframe|frame|svg|math|object|embed|meta|"
    rb"style|link|base|form|img|title|table|a\s)",
    re.IGNORECASE,
)
_HEADER_LINE = re.compile(rb"[!-9;-~]+:")  # an RFC 5322 field name and its colon


class UploadRefused(Exception):
    """One file (or the batch) cannot be attached; nothing was stored. `message` is an msgid,
    translated with `variables` by the page (`web.forms.refusal`)."""

    def __init__(self, message: str, filename: str = "", **variables: object) -> None:
        super().__init__(message % {"name": filename, **variables})
        self.message = message
        self.filename = filename
        self.variables = {"name": filename, **variables}


@dataclass
class PendingFile:
    """An upload that passed every check and is not stored yet. `source` is the upload's own
    (spooled) file, read again by `store`, so the batch is never held in memory."""

    filename: str
    content_type: str
    size: int
    sha256: str
    source: BinaryIO = field(repr=False)


@dataclass
class _Scan:
    size: int
    sha256: str
    head: bytes
    utf8_text: bool


# ---------------------------------------------------------------- checking


def clean_filename(raw: str) -> str:
    """The name to show and to offer on download: no folders, no control or bidi characters
    (the "invoice‮fdp.exe" trick), at most 255 characters with the extension kept."""
    name = unicodedata.normalize("NFC", raw).replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch) not in ("Cc", "Cf"))
    name = name.strip().strip(".").strip()
    if len(name) > 255:
        suffix = PurePosixPath(name).suffix[:16]
        name = name[: 255 - len(suffix)] + suffix
    return name


def _extension(filename: str) -> str:
    return PurePosixPath(filename).suffix.lower().lstrip(".")


def _scan(source: BinaryIO, limit: int) -> _Scan | None:
    """Hash, size and sniff in one pass; None as soon as the file passes `limit` bytes, so a
    huge upload is never read to its end."""
    source.seek(0)
    digest, size, head = hashlib.sha256(), 0, b""
    decoder, utf8_text = codecs.getincrementaldecoder("utf-8")(), True
    while chunk := source.read(CHUNK):
        size += len(chunk)
        if size > limit:
            return None
        digest.update(chunk)
        if len(head) < HEAD:
            head += chunk[: HEAD - len(head)]
        if utf8_text:
            try:
                decoder.decode(chunk)
                utf8_text = b"\0" not in chunk
            except UnicodeDecodeError:
                utf8_text = False
    if utf8_text:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            utf8_text = False
    return _Scan(size, digest.hexdigest(), head, utf8_text)


def _is_markup(head: bytes, expected: str | None) -> bool:
    # An email's body may well be HTML; an .eml is only ever downloaded, never shown.
    return expected != "message/rfc822" and bool(_MARKUP_TAGS.search(head[:1024]))


def _office_in_zip(source: BinaryIO, expected: str) -> bool:
    """`filetype` knows an Office file by the order of its first ZIP entries; some writers use
    another order. Then the archive's directory says what it is."""
    markers = {DOCX: "word/document.xml", XLSX: "xl/workbook.xml"}
    source.seek(0)
    try:
        with zipfile.ZipFile(source) as archive:
            if expected in markers:
                names = set(archive.namelist())
                return "[Content_Types].xml" in names and markers[expected] in names
            if expected in (ODT, ODS):
                return archive.read("mimetype").decode("ascii", "replace").strip() == expected
    except (zipfile.BadZipFile, KeyError, OSError):
        return False
    return False


def _content_type(source: BinaryIO, scan: _Scan, filename: str) -> str:
    """The type the bytes prove, if the extension agrees; raises `UploadRefused` otherwise."""
    expected = EXTENSIONS.get(_extension(filename))
    guessed = filetype.guess(scan.head)
    if guessed is None and _is_markup(scan.head, expected):
        raise UploadRefused(MARKUP, filename)
    if expected is None:
        raise UploadRefused(NOT_ACCEPTED, filename, accepted=ACCEPTED_NAMES)
    if guessed is not None:
        if guessed.mime == expected:
            return expected
        if guessed.mime == "application/zip" and _office_in_zip(source, expected):
            return expected
        raise UploadRefused(MISMATCH, filename)
    if expected in TEXT_TYPES and scan.utf8_text:
        if expected == "message/rfc822" and not _HEADER_LINE.match(scan.head):
            raise UploadRefused(MISMATCH, filename)
        return expected
    raise UploadRefused(MISMATCH, filename)


def _check(source: BinaryIO, filename: str, limit: int) -> PendingFile:
    # Runs in a worker thread: reading a spooled upload may touch the disk.
    scan = _scan(source, limit)
    if scan is None:
        raise UploadRefused(TOO_LARGE, filename, limit=_megabytes(limit))
    if scan.size == 0:
        raise UploadRefused(EMPTY, filename)
    content_type = _content_type(source, scan, filename)
    return PendingFile(filename, content_type, scan.size, scan.sha256, source)


def check_bytes(data: bytes, filename: str, limit: int) -> PendingFile:
    """The same checks for a file that did not come through a form (a mail's attachment)."""
    name = clean_filename(filename)
    if not name:
        raise UploadRefused(NAMELESS)
    return _check(io.BytesIO(data), name, limit)


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f}".removesuffix(".0")


async def read_uploads(settings: Settings, uploads: list[UploadFile]) -> list[PendingFile]:
    """Check every file of the form before anything is stored: the whole batch is accepted, or
    `UploadRefused` names the first file that is not."""
    chosen = []
    for upload in uploads:
        if not upload.filename:
            # A file input left empty still sends a part with no name and no bytes.
            if not upload.size:
                continue
            raise UploadRefused(NAMELESS)
        chosen.append(upload)
    if len(chosen) > settings.upload_max_files:
        raise UploadRefused(TOO_MANY, limit=settings.upload_max_files)
    pending = []
    for upload in chosen:
        filename = clean_filename(upload.filename or "")
        if not filename:
            raise UploadRefused(NAMELESS)
        pending.append(
            await asyncio.to_thread(_check, upload.file, filename, settings.upload_max_bytes)
        )
    return pending


# ---------------------------------------------------------------- storing


def stored_path(settings: Settings, sha256: str) -> Path:
    """Where the bytes of that hash live (see db.file_store)."""
    return file_store.path_for(settings.uploads_path, sha256)


def save_file(uploads: Path, file: PendingFile) -> None:
    """Blocking: write a checked file under its hash (run it in a thread from async code)."""
    target = file_store.path_for(uploads, file.sha256)
    if target.exists():
        return  # content-addressed: these bytes are already here
    uploads.mkdir(mode=0o750, parents=True, exist_ok=True)
    target.parent.mkdir(mode=0o750, exist_ok=True)
    # A temporary file in the same folder, renamed over the target: readers never see half a
    # file, and two requests storing the same bytes at once both end with the same file.
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
    try:
        digest = hashlib.sha256()
        with os.fdopen(handle, "wb") as out:
            file.source.seek(0)
            while chunk := file.source.read(CHUNK):
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if digest.hexdigest() != file.sha256:
            raise RuntimeError(f"{file.filename} changed between its check and its storage")
        os.chmod(temporary, 0o640)
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


async def store(settings: Settings, files: list[PendingFile]) -> list[Attachment]:
    """Write checked files under their hash and describe them for the ticket workflow."""
    attachments = []
    for file in files:
        await asyncio.to_thread(save_file, settings.uploads_path, file)
        attachments.append(
            Attachment(
                id=str(uuid.uuid4()),
                sha256=file.sha256,
                filename=file.filename,
                content_type=file.content_type,
                size=file.size,
            )
        )
    return attachments


# ---------------------------------------------------------------- reading


async def attachment_for(
    db: AsyncSession, principal: Principal, attachment_id: uuid.UUID
) -> TicketAttachment | None:
    """The attachment if this person may read it, else None (the page answers 404 either way,
    so the existence of someone else's file is never revealed). Staff with `tickets.view` read
    any; a customer only those of their company's tickets, never those of internal notes."""
    if not principal.can("tickets.view"):
        return None
    if principal.is_staff:
        return await db.get(TicketAttachment, attachment_id)
    if principal.customer_id is None:
        return None
    query = (
        select(TicketAttachment)
        .join(Ticket, Ticket.id == TicketAttachment.ticket_id)
        .join(TicketMessage, TicketMessage.id == TicketAttachment.message_id)
        .where(
            TicketAttachment.id == attachment_id,
            Ticket.customer_id == principal.customer_id,
            TicketMessage.internal.is_(False),
        )
    )
    return await db.scalar(query)
