"""Inbound mail, from raw bytes to what a ticket needs: sender, subject, threading ids, the text
(with the quoted history stripped for display, the full text kept), sanitised HTML and the files.

Pure (no I/O, no database), so it is tested as a table over a corpus of messages. It lives in
`activities/` because only the mail-ingestion activity calls it: the workflows never see raw
mail (their payloads carry the parsed result), and the web shows what ingestion stored.

Mail is hostile input: every header may be missing, malformed or in an unknown charset. Nothing
here raises on a bad message; it degrades to empty values and the message still becomes a ticket.
"""

from __future__ import annotations

import hashlib
import mimetypes
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage, Message
from email.utils import getaddresses, parseaddr, parsedate_to_datetime

import nh3
from mailparser_reply import EmailReplyParser

from activities.mail_text import html_to_text, strip_reply

# Headers added on the way (by relays and by our own IMAP server): left out of the synthetic
# Message-ID, so one mail delivered to two of our mailboxes still gets one id.
TRACE_HEADERS = frozenset(
    {
        "received", "return-path", "delivered-to", "x-original-to", "envelope-to",
        "x-received", "authentication-results", "arc-seal", "arc-message-signature",
        "arc-authentication-results", "x-spam-status", "x-spam-score", "x-spam-flag",
        "status", "x-uid", "x-keywords", "x-status", "content-length", "lines",
    }
)  # fmt: skip
SYNTHETIC_DOMAIN = "synthetic.cloudmanager.invalid"
MESSAGE_ID = re.compile(r"<[^<>\s]+>")
MAX_SUBJECT = 200
_SPACES = re.compile(r"\s+")
_REPLY_PARSER = EmailReplyParser(languages=["fr", "en"])


@dataclass
class MailFile:
    """A part that is a file: an attachment, or an inline image the HTML refers to."""

    filename: str
    content_type: str  # as declared by the sender; the ingestion checks the bytes
    data: bytes = field(repr=False)
    inline: bool = False
    content_id: str = ""


@dataclass
class ParsedMail:
    message_id: str
    synthetic_id: bool
    subject: str
    from_address: str
    from_name: str
    to_addresses: list[str]
    sent_at: datetime | None
    in_reply_to: list[str]
    references: list[str]
    text: str  # the whole text, quoted history included
    reply: str  # the new part only, for the conversation view
    html: str  # sanitised; "" when the mail had no HTML
    files: list[MailFile]
    raw_sha256: str
    message: EmailMessage = field(repr=False)

    @property
    def thread_ids(self) -> list[str]:
        """Every id this mail answers, nearest first (In-Reply-To, then References newest
        first), without repeats."""
        seen: dict[str, None] = {}
        for found in [*self.in_reply_to, *reversed(self.references)]:
            seen.setdefault(found, None)
        return list(seen)

    def header(self, name: str) -> str:
        return header_text(self.message, name)


def parse_mail(raw: bytes) -> ParsedMail:
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    declared = _first_id(header_text(message, "message-id"))
    from_name, from_address = _sender(message)
    text_part, html_part = _body_parts(message)
    html_source = _decoded(html_part) if html_part is not None else ""
    text = _decoded(text_part) if text_part is not None else html_to_text(html_source)
    text = _normalise_newlines(text)
    return ParsedMail(
        message_id=declared or synthetic_message_id(raw),
        synthetic_id=not declared,
        subject=_one_line(header_text(message, "subject"))[:MAX_SUBJECT],
        from_address=from_address,
        from_name=from_name,
        to_addresses=_addresses(message, "to") + _addresses(message, "cc"),
        sent_at=_date(header_text(message, "date")),
        in_reply_to=MESSAGE_ID.findall(header_text(message, "in-reply-to")),
        references=MESSAGE_ID.findall(header_text(message, "references")),
        text=text,
        reply=strip_reply(text, _REPLY_PARSER),
        html=sanitise_html(html_source) if html_source else "",
        files=list(_files(message, {id(text_part), id(html_part)})),
        raw_sha256=hashlib.sha256(raw).hexdigest(),
        message=message,
    )


def synthetic_message_id(raw: bytes) -> str:
    """For mail without a Message-ID: a hash of the message without its trace headers, so the
    same mail fetched twice, or delivered to two mailboxes, gets the same id."""
    head, _, body = raw.replace(b"\r\n", b"\n").partition(b"\n\n")
    kept, keep = [], True
    for line in head.split(b"\n"):
        if line[:1] in (b" ", b"\t"):
            if keep:
                kept.append(line)
            continue
        name = line.split(b":", 1)[0].strip().lower().decode("ascii", "replace")
        keep = name not in TRACE_HEADERS
        if keep:
            kept.append(line)
    digest = hashlib.sha256(b"\n".join(kept) + b"\n\n" + body).hexdigest()[:40]
    return f"<{digest}@{SYNTHETIC_DOMAIN}>"


def sanitise_html(source: str) -> str:
    """What is safe to show inside our pages: no script, style, forms or event handlers; links
    open without a referrer."""
    return nh3.clean(
        source,
        url_schemes={"http", "https", "mailto"},
        clean_content_tags={"script", "style", "title", "head"},
    )


def header_text(message: Message, name: str) -> str:
    """A header as text, decoded; "" when missing or beyond repair."""
    try:
        value = message.get(name)
    except Exception:  # a malformed header must not lose the mail
        value = None
    if value is None:
        return ""
    try:
        return str(value)
    except Exception:
        return ""


# ---------------------------------------------------------------- headers


def _first_id(value: str) -> str:
    found = MESSAGE_ID.search(value)
    return found.group(0) if found else ""


def _sender(message: EmailMessage) -> tuple[str, str]:
    raw = header_text(message, "from")
    try:
        addresses = message["from"].addresses if message["from"] is not None else ()
    except Exception:
        addresses = ()
    if addresses:
        return _one_line(addresses[0].display_name), addresses[0].addr_spec.lower()
    name, address = parseaddr(raw)
    return _one_line(name), address.lower()


def _addresses(message: EmailMessage, name: str) -> list[str]:
    return [address.lower() for _, address in getaddresses([header_text(message, name)]) if address]


def _date(value: str) -> datetime | None:
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _one_line(value: str) -> str:
    return _SPACES.sub(" ", value).strip()


# ---------------------------------------------------------------- bodies and files


def _leaves(part: Message) -> Iterator[Message]:
    """Every non-multipart part, depth first, without descending into attached messages (an
    attached .eml is one file, not more body)."""
    if part.is_multipart() and part.get_content_maintype() == "multipart":
        for child in part.get_payload():
            yield from _leaves(child)
    else:
        yield part


def _is_attachment(part: Message) -> bool:
    disposition = (part.get_content_disposition() or "").lower()
    return disposition == "attachment" or (
        bool(part.get_filename()) and not part.get_content_type().startswith("text/")
    )


def _body_parts(message: EmailMessage) -> tuple[Message | None, Message | None]:
    """The first text/plain and text/html parts that are not attachments."""
    text = html = None
    for part in _leaves(message):
        if _is_attachment(part) or part.get_content_maintype() != "text":
            continue
        subtype = part.get_content_subtype()
        if subtype == "plain" and text is None:
            text = part
        elif subtype == "html" and html is None:
            html = part
    return text, html


def _decoded(part: Message) -> str:
    """A text part as str, whatever its charset says: an unknown or lying charset (UTF-8 bytes
    labelled us-ascii is common) falls back to UTF-8, then Windows-1252, then Latin-1 (which
    decodes any byte)."""
    try:
        payload = part.get_payload(decode=True)
    except Exception:  # a broken transfer encoding
        payload = None
    if not isinstance(payload, bytes):
        raw = part.get_payload()
        return raw if isinstance(raw, str) else ""
    for charset in (part.get_content_charset(), "utf-8", "windows-1252"):
        if not charset:
            continue
        try:
            return payload.decode(charset)
        except (LookupError, UnicodeDecodeError):
            continue
    return payload.decode("latin-1")


def _normalise_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n").strip("\n")


def _files(message: EmailMessage, body_ids: set[int]) -> Iterator[MailFile]:
    count = 0
    for part in _leaves(message):
        if id(part) in body_ids:
            continue
        content_type = part.get_content_type()
        if content_type == "message/delivery-status":
            continue  # the machine-readable half of a bounce, read by the classifier
        if part.get_content_maintype() == "text" and not _is_attachment(part):
            continue  # a second text part of the body (a signature, a footer)
        count += 1
        data = _file_bytes(part)
        if not data:
            continue
        content_id = header_text(part, "content-id").strip().strip("<>")
        inline = (part.get_content_disposition() or "") == "inline" or (
            bool(content_id) and not _is_attachment(part)
        )
        yield MailFile(
            filename=_filename(part, content_type, count),
            content_type=content_type,
            data=data,
            inline=inline,
            content_id=content_id,
        )


def _file_bytes(part: Message) -> bytes:
    if part.get_content_type() == "message/rfc822":
        inner = part.get_payload()
        inner = inner[0] if isinstance(inner, list) and inner else inner
        try:
            return inner.as_bytes() if isinstance(inner, Message) else b""
        except Exception:
            return b""
    payload = part.get_payload(decode=True)
    return payload if isinstance(payload, bytes) else b""


def _filename(part: Message, content_type: str, position: int) -> str:
    try:
        name = part.get_filename()
    except Exception:
        name = None
    if name:
        return _one_line(str(name))
    extension = (
        ".eml" if content_type == "message/rfc822" else mimetypes.guess_extension(content_type)
    )
    return f"attachment-{position}{extension or '.bin'}"
