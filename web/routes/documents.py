"""Customer documents for whoever may read them (/documents/{id}): a download for every file, an
inline preview for images and PDFs. A document the caller may not read, or whose bytes were
removed (deleted, or past KYC retention), answers 404 like one that does not exist."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import FileResponse

from api.access import CurrentPrincipal, signed_in
from api.customer_documents import document_for
from api.routes.deps import SessionDep, SettingsDep
from web.forms import id_or_404
from web.routes.attachments import serve_file

router = APIRouter(
    prefix="/documents", include_in_schema=False, dependencies=[Depends(signed_in())]
)


async def _readable(raw_id: str, principal, db):
    document = await document_for(db, principal, id_or_404(raw_id))
    return None if document is None or document.file_removed_at else document


@router.get("/{document_id}")
async def download(
    document_id: str, principal: CurrentPrincipal, db: SessionDep, settings: SettingsDep
) -> FileResponse:
    return await serve_file(settings, await _readable(document_id, principal, db), "attachment")


@router.get("/{document_id}/preview")
async def preview(
    document_id: str, principal: CurrentPrincipal, db: SessionDep, settings: SettingsDep
) -> FileResponse:
    return await serve_file(settings, await _readable(document_id, principal, db), "inline")
