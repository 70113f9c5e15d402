"""Ticket attachments for whoever may read them: a download for every file, an inline preview
for images and PDFs. An attachment the caller may not read answers 404, exactly as one that does
not exist, so ids of other companies' files reveal nothing."""

from __future__ import annotations

import asyncio
import logging
from typing import Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException
from fastapi.responses import FileResponse
from sqlalchemy.ext.asyncio import AsyncSession

from api.access import CurrentPrincipal, Principal, signed_in
from api.attachments import ACCEPT, ACCEPTED_NAMES, PREVIEWABLE, attachment_for, stored_path
from api.routes.deps import SessionDep, SettingsDep
from api.settings import Settings
from web.forms import id_or_404
from web.templating import templates

log = logging.getLogger(__name__)

router = APIRouter(
    prefix="/attachments", include_in_schema=False, dependencies=[Depends(signed_in())]
)

# Served from our own origin, a file must never run as a page: no sniffing, and a sandbox with
# no script even if a browser were to render it. Chromium 156's PDF viewer still renders under
# this policy (tests/e2e/test_attachment_preview.py opens one in a real Chromium).
FILE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": (
        "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; "
        "frame-ancestors 'none'"
    ),
    "Cache-Control": "private",
}

# The upload macro (`_macros/attachments.html`) lists the same types the check accepts.
templates.env.globals.update(attachment_accept=ACCEPT, attachment_types=ACCEPTED_NAMES)


def content_disposition(kind: Literal["attachment", "inline"], filename: str) -> str:
    """RFC 6266 with an ASCII fallback for old clients and the exact name (RFC 5987) for all
    others; the name was cleaned at upload, quotes and backslashes are replaced here."""
    fallback = "".join(ch if 32 <= ord(ch) < 127 and ch not in '"\\' else "_" for ch in filename)
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


async def serve_file(
    settings: Settings, stored: object | None, kind: Literal["attachment", "inline"]
) -> FileResponse:
    """A stored file (a ticket attachment, a customer document: anything with id, sha256,
    filename and content_type) the caller was allowed to read; None answers 404."""
    if stored is None or (kind == "inline" and stored.content_type not in PREVIEWABLE):
        raise HTTPException(status_code=404)
    path = stored_path(settings, stored.sha256)
    if not await asyncio.to_thread(path.is_file):
        log.error("%s %s: its file %s is missing", type(stored).__name__, stored.id, path)
        raise HTTPException(status_code=404)
    headers = {**FILE_HEADERS, "Content-Disposition": content_disposition(kind, stored.filename)}
    return FileResponse(path, media_type=stored.content_type, headers=headers)


async def _serve(
    raw_id: str,
    principal: Principal,
    db: AsyncSession,
    settings: Settings,
    kind: Literal["attachment", "inline"],
) -> FileResponse:
    return await serve_file(settings, await attachment_for(db, principal, id_or_404(raw_id)), kind)


@router.get("/{attachment_id}")
async def download(
    attachment_id: str, principal: CurrentPrincipal, db: SessionDep, settings: SettingsDep
) -> FileResponse:
    return await _serve(attachment_id, principal, db, settings, "attachment")


@router.get("/{attachment_id}/preview")
async def preview(
    attachment_id: str, principal: CurrentPrincipal, db: SessionDep, settings: SettingsDep
) -> FileResponse:
    return await _serve(attachment_id, principal, db, settings, "inline")
