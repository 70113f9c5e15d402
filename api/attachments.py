"""Ticket attachments: uploads checked by their content (`db.file_checks`), stored once by hash
(`db.file_store`), and the one permission check every download goes through.

Bytes live under `uploads/<sha[:2]>/<sha>`, outside the web root, and are only ever served by
`web.routes.attachments` after `attachment_for` said yes. A refused file is explained in words
(`UploadRefused`: an msgid and its variables).
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import UploadFile

from api.access import Principal
from api.settings import Settings
from db import file_checks, file_store
from db.file_checks import PendingFile, clean_filename
from db.models import Ticket, TicketAttachment, TicketMessage
from i18n import N_
from workflows.ticket_messages import Attachment

__all__ = [
    "ACCEPT", "ACCEPTED_NAMES", "PREVIEWABLE", "PendingFile", "UploadRefused", "attachment_for",
    "clean_filename", "read_uploads", "store", "stored_path",
]  # fmt: skip

# What `<input accept>` offers and the help text lists.
ACCEPT = ",".join(f".{ext}" for ext in file_checks.EXTENSIONS)
ACCEPTED_NAMES = ", ".join(ext.upper() for ext in file_checks.EXTENSIONS if ext not in ("jpeg",))
# Shown inline (new tab or <img>); everything else is only ever a download.
PREVIEWABLE = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf"})

TOO_MANY = N_("You can attach at most %(limit)s files at once.")
NAMELESS = N_("A file without a name cannot be attached.")
EMPTY = N_("%(name)s is empty.")
TOO_LARGE = N_("%(name)s is larger than %(limit)s MB.")
NOT_ACCEPTED = N_("%(name)s is not a type of file we accept (%(accepted)s).")
MISMATCH = N_("The content of %(name)s does not match its extension.")
MARKUP = N_("%(name)s looks like a web page or a script, which cannot be attached.")
# Each reason the checks give (`db.file_checks`), in words.
REASONS = {
    file_checks.TOO_MANY: TOO_MANY,
    file_checks.NAMELESS: NAMELESS,
    file_checks.EMPTY: EMPTY,
    file_checks.TOO_LARGE: TOO_LARGE,
    file_checks.NOT_ACCEPTED: NOT_ACCEPTED,
    file_checks.MISMATCH: MISMATCH,
    file_checks.MARKUP: MARKUP,
}


class UploadRefused(Exception):
    """One file (or the batch) cannot be attached; nothing was stored. `message` is an msgid,
    translated with `variables` by the page (`web.forms.refusal`)."""

    def __init__(self, message: str, filename: str = "", **variables: object) -> None:
        super().__init__(message % {"name": filename, **variables})
        self.message = message
        self.filename = filename
        self.variables = {"name": filename, **variables}

    @classmethod
    def explaining(cls, reason: str, filename: str = "", **variables: object) -> UploadRefused:
        """The words for a refusal of `db.file_checks` (also one stored with a mail)."""
        if reason == file_checks.TOO_LARGE:
            variables["limit"] = _megabytes(int(str(variables["limit"])))
        if reason == file_checks.NOT_ACCEPTED:
            variables["accepted"] = ACCEPTED_NAMES
        return cls(REASONS.get(reason, MISMATCH), filename, **variables)


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f}".removesuffix(".0")


def _check(upload: UploadFile, filename: str, limit: int) -> PendingFile:
    # Runs in a worker thread: reading a spooled upload may touch the disk.
    try:
        return file_checks.check(upload.file, filename, limit)
    except file_checks.FileRefused as refused:
        raise UploadRefused.explaining(
            refused.reason, refused.filename, **refused.variables
        ) from refused


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
        pending.append(await asyncio.to_thread(_check, upload, filename, settings.upload_max_bytes))
    return pending


# ---------------------------------------------------------------- storing


def stored_path(settings: Settings, sha256: str) -> Path:
    """Where the bytes of that hash live (see db.file_store)."""
    return file_store.path_for(settings.uploads_path, sha256)


async def store(settings: Settings, files: list[PendingFile]) -> list[Attachment]:
    """Write checked files under their hash and describe them for the ticket workflow."""
    attachments = []
    for file in files:
        await asyncio.to_thread(file_store.write, settings.uploads_path, file)
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
