"""What kind of mail this is, decided before anything is done with it: spam goes to quarantine,
a bounce never opens a ticket, an auto-reply is never answered (that is how mail loops start).

Rules, in order: spam (`X-Spam-Flag: YES`, or the sender on the admins' blocklist); bounce (a
DSN report, or a mailer-daemon's mail); auto-reply (RFC 3834 `Auto-Submitted`, `Precedence`,
the vendors' X- headers, mailing-list headers, an empty Return-Path, `X-Loop`); else normal.
Pure functions over a `ParsedMail`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from email.message import Message
from email.parser import BytesHeaderParser, HeaderParser
from typing import Literal

from activities.mail_parsing import MESSAGE_ID, ParsedMail, header_text

MailKind = Literal["normal", "auto_reply", "bounce", "spam"]

AUTO_PRECEDENCE = frozenset({"bulk", "junk", "list", "auto_reply"})
# Present at all (whatever the value): the sender's software says it is automatic.
AUTO_HEADERS = ("x-autoreply", "x-autorespond", "x-auto-response-suppress", "list-unsubscribe",
                "list-id", "x-loop")  # fmt: skip
DAEMONS = re.compile(r"^(mailer-daemon|postmaster|mail-daemon|mailerdaemon)@", re.IGNORECASE)
STATUS_CODE = re.compile(r"\b([245]\.\d{1,3}\.\d{1,3})\b")
SMTP_REPLY = re.compile(r"\b([45])\d\d[ -]")


@dataclass
class Bounce:
    """What a delivery report says: which of our mails failed, to whom, and how badly."""

    original_message_id: str
    recipient: str
    status: str  # "5.1.1", "4.2.2", or "" when the report gives none

    @property
    def permanent(self) -> bool:
        return self.status.startswith("5")


@dataclass
class Classification:
    kind: MailKind
    reason: str
    bounce: Bounce | None = None


def classify(mail: ParsedMail, blocklist: Iterable[str] = ()) -> Classification:
    if mail.header("x-spam-flag").strip().upper() == "YES":
        return Classification("spam", "X-Spam-Flag")
    blocked = _blocked(mail.from_address, blocklist)
    if blocked:
        return Classification("spam", f"blocklist: {blocked}")
    bounce = read_bounce(mail)
    if bounce is not None:
        return Classification("bounce", "delivery report", bounce)
    reason = auto_reply_reason(mail)
    if reason:
        return Classification("auto_reply", reason)
    return Classification("normal", "")


def auto_reply_reason(mail: ParsedMail) -> str:
    """The header that shows the mail was sent by a machine, or ""."""
    submitted = mail.header("auto-submitted").split(";")[0].strip().lower()
    if submitted and submitted != "no":
        return f"Auto-Submitted: {submitted}"
    precedence = mail.header("precedence").strip().lower()
    if precedence in AUTO_PRECEDENCE:
        return f"Precedence: {precedence}"
    for name in AUTO_HEADERS:
        if name in mail.message:
            return name
    return_path = mail.message.get_all("return-path") or []
    if return_path and all(str(value).strip() in ("<>", "") for value in return_path):
        return "empty Return-Path"
    return ""


def _blocked(address: str, blocklist: Iterable[str]) -> str:
    """The blocklist entry that matches: a whole address, or a domain written `@domain`."""
    domain = address.rpartition("@")[2]
    for entry in blocklist:
        pattern = entry.strip().lower()
        if not pattern:
            continue
        if pattern == address or (pattern.startswith("@") and pattern[1:] == domain):
            return pattern
    return ""


# ---------------------------------------------------------------- bounces


def read_bounce(mail: ParsedMail) -> Bounce | None:
    """A DSN (`multipart/report; report-type=delivery-status`), or a mailer-daemon's free-form
    report; None for anything else."""
    message = mail.message
    report = _delivery_status(message)
    from_daemon = bool(DAEMONS.match(mail.from_address))
    if report is None and not from_daemon:
        return None
    recipient, status = "", ""
    if report is not None:
        recipient, status = report
    if not status:
        found = STATUS_CODE.search(mail.text) or _smtp_class(mail.text)
        status = found.group(1) if isinstance(found, re.Match) else (found or "")
    return Bounce(_original_message_id(mail), recipient, status)


def _smtp_class(text: str) -> str:
    """ "550 No such user" in a free-form report: 5.0.0 or 4.0.0."""
    found = SMTP_REPLY.search(text)
    return f"{found.group(1)}.0.0" if found else ""


def _delivery_status(message: Message) -> tuple[str, str] | None:
    """(recipient, status) from the first failed recipient block of a message/delivery-status
    part, or None when there is no such part."""
    for part in message.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        blocks = _status_blocks(part)
        chosen = next((b for b in blocks if b.get("action", "").lower() == "failed"), None)
        chosen = chosen or next((b for b in blocks if b.get("status")), None) or {}
        recipient = chosen.get("final-recipient") or chosen.get("original-recipient") or ""
        status = STATUS_CODE.search(chosen.get("status", ""))
        return recipient.split(";")[-1].strip().lower(), status.group(1) if status else ""
    return None


def _status_blocks(part: Message) -> list[dict[str, str]]:
    """The per-message and per-recipient field groups of a delivery-status part."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return [{k.lower(): str(v) for k, v in block.items()} for block in payload]
    text = payload if isinstance(payload, str) else ""
    blocks = []
    for chunk in re.split(r"\n\s*\n", text.replace("\r\n", "\n")):
        parsed = HeaderParser().parsestr(chunk)
        blocks.append({k.lower(): str(v) for k, v in parsed.items()})
    return blocks


def _original_message_id(mail: ParsedMail) -> str:
    """The Message-ID of the mail that failed: from the returned message or its headers, else
    from the report's own In-Reply-To / References, else from a Message-ID line in the text."""
    for part in mail.message.walk():
        content_type = part.get_content_type()
        if content_type == "message/rfc822":
            inner = part.get_payload()
            inner = inner[0] if isinstance(inner, list) and inner else inner
            if isinstance(inner, Message):
                found = MESSAGE_ID.search(header_text(inner, "message-id"))
                if found:
                    return found.group(0)
        elif content_type == "text/rfc822-headers":
            raw = part.get_payload(decode=True) or b""
            headers = BytesHeaderParser().parsebytes(raw if isinstance(raw, bytes) else b"")
            found = MESSAGE_ID.search(str(headers.get("message-id", "")))
            if found:
                return found.group(0)
    if mail.thread_ids:
        return mail.thread_ids[0]
    found = re.search(r"^\s*Message-ID:\s*(<[^<>\s]+>)", mail.text, re.IGNORECASE | re.MULTILINE)
    return found.group(1) if found else ""
