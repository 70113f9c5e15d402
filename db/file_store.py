"""The uploads folder: files stored once under their SHA-256 (`<root>/<sha[:2]>/<sha>`), shared by
every row that holds the same bytes (ticket attachments, customer documents).

Bytes are written once, whole, by whoever stores them first (a web upload, a mail's attachment),
and removed only when no row still needs them. Removal and the storing of documents take the
same per-hash advisory lock inside their transaction, so a document stored while the same bytes
are being removed is never left pointing at nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import re
import tempfile
from pathlib import Path

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from db.file_checks import CHUNK, PendingFile
from db.models import CustomerDocument, TicketAttachment

_SHA256 = re.compile(r"[0-9a-f]{64}")


def path_for(root: Path, sha256: str) -> Path:
    """Where the bytes of that hash live. Refuses anything but a hash, so a row can never point
    a download outside the uploads folder."""
    if not _SHA256.fullmatch(sha256):
        raise ValueError(f"not a sha256: {sha256!r}")
    return root / sha256[:2] / sha256


def write(root: Path, file: PendingFile) -> None:
    """Blocking (run it in a thread from async code): store a checked file under its hash."""
    target = path_for(root, file.sha256)
    if target.exists():
        return  # content-addressed: these bytes are already here
    root.mkdir(mode=0o750, parents=True, exist_ok=True)
    target.parent.mkdir(mode=0o750, exist_ok=True)
    # A temporary file in the same folder, renamed over the target: readers never see half a
    # file, and two writers storing the same bytes at once both end with the same file.
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


async def lock(db: AsyncSession, sha256: str) -> None:
    """Until the transaction ends, nobody else stores or removes these bytes."""
    await db.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": sha256})


async def remove_unreferenced(db: AsyncSession, root: Path, sha256: str) -> bool:
    """Delete the bytes when no live row refers to them any more (call it after marking the
    caller's own row as removed, in the same transaction). Returns whether a file went."""
    await lock(db, sha256)
    documents = select(func.count()).where(
        CustomerDocument.sha256 == sha256, CustomerDocument.file_removed_at.is_(None)
    )
    attachments = select(func.count()).where(TicketAttachment.sha256 == sha256)
    if await db.scalar(documents) or await db.scalar(attachments):
        return False
    path = path_for(root, sha256)
    await asyncio.to_thread(path.unlink, missing_ok=True)
    return True
