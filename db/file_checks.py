"""Files judged by their bytes before they are stored: the checks every file goes through, whether
a person uploaded it (api.attachments) or it came attached to an inbound mail (activities).

The type of a file is what its bytes say (`filetype`), never its name or the sender's
Content-Type; the extension must agree with the bytes, so a renamed executable or web page is
refused. Markup (HTML, SVG, XML) is refused outright: served from our origin it would be stored
XSS. A refusal names its reason as a code (`FileRefused.reason`); the application turns it into
words. Everything here blocks (it reads files): call it from a thread in async code.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import BinaryIO

import filetype

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
# Types that are UTF-8 text without a magic number: recognised by decoding, named by extension.
TEXT_TYPES = frozenset({TEXT, "text/csv", "message/rfc822"})

# Why a file is refused (`FileRefused.reason`).
NAMELESS = "nameless"
EMPTY = "empty"
TOO_LARGE = "too_large"  # variables: limit (bytes)
TOO_MANY = "too_many"  # variables: limit (files)
NOT_ACCEPTED = "not_accepted"
MISMATCH = "mismatch"
MARKUP = "markup"

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


class FileRefused(Exception):
    """One file (or the batch) cannot be kept; nothing was stored."""

    def __init__(self, reason: str, filename: str = "", **variables: object) -> None:
        super().__init__(f"{reason}: {filename}")
        self.reason = reason
        self.filename = filename
        self.variables = variables


@dataclass
class PendingFile:
    """A file that passed every check and is not stored yet. `source` is read again when it is
    stored (an upload's own spooled file), so a batch is never held in memory."""

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


def check(source: BinaryIO, filename: str, limit: int) -> PendingFile:
    """The file if it may be kept (`filename` already cleaned), else `FileRefused`."""
    scan = _scan(source, limit)
    if scan is None:
        raise FileRefused(TOO_LARGE, filename, limit=limit)
    if scan.size == 0:
        raise FileRefused(EMPTY, filename)
    content_type = _content_type(source, scan, filename)
    return PendingFile(filename, content_type, scan.size, scan.sha256, source)


def check_bytes(data: bytes, filename: str, limit: int) -> PendingFile:
    """The same checks for a file that did not come through a form (a mail's attachment)."""
    name = clean_filename(filename)
    if not name:
        raise FileRefused(NAMELESS)
    return check(io.BytesIO(data), name, limit)


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
    """The type the bytes prove, if the extension agrees; raises `FileRefused` otherwise."""
    expected = EXTENSIONS.get(_extension(filename))
    guessed = filetype.guess(scan.head)
    if guessed is None and _is_markup(scan.head, expected):
        raise FileRefused(MARKUP, filename)
    if expected is None:
        raise FileRefused(NOT_ACCEPTED, filename)
    if guessed is not None:
        if guessed.mime == expected:
            return expected
        if guessed.mime == "application/zip" and _office_in_zip(source, expected):
            return expected
        raise FileRefused(MISMATCH, filename)
    if expected in TEXT_TYPES and scan.utf8_text:
        if expected == "message/rfc822" and not _HEADER_LINE.match(scan.head):
            raise FileRefused(MISMATCH, filename)
        return expected
    raise FileRefused(MISMATCH, filename)
