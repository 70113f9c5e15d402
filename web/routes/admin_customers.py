"""Admin console, a customer's personal data: export everything as a ZIP (a download, audited)
and anonymise a closed customer (audited). Admins only (`customers.delete`)."""

from __future__ import annotations

import contextlib
import os
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask
from starlette.responses import Response

from api import customer_privacy, customers, kyc
from api.access import STAFF, Principal, require, signed_in
from api.routes.deps import SessionDep, SettingsDep, TemporalDep, actor_of
from api.users import Refused
from web.customer_pages import back_to
from web.forms import id_or_404, refusal
from web.routes.attachments import content_disposition
from web.templating import translate

router = APIRouter(
    prefix="/admin/customers", include_in_schema=False, dependencies=[Depends(signed_in(STAFF))]
)

Admin = Annotated[Principal, Depends(require("customers.delete", area=STAFF))]


def _discard(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


@router.get("/{customer_id}/export")
async def export(
    request: Request, customer_id: str, principal: Admin, db: SessionDep, settings: SettingsDep
) -> Response:
    try:
        async with db.begin():
            path = await customer_privacy.export(
                db, settings, actor_of(request), id_or_404(customer_id)
            )
    except customers.CustomerNotFound as missing:
        raise HTTPException(status_code=404) from missing
    name = f"customer-{customer_id}-{datetime.now(UTC):%Y%m%d}.zip"
    return FileResponse(
        path, media_type="application/zip",
        headers={"Content-Disposition": content_disposition("attachment", name),
                 "Cache-Control": "no-store"},
        background=BackgroundTask(_discard, str(path)),
    )  # fmt: skip


@router.post("/{customer_id}/anonymise")
async def anonymise(
    request: Request,
    customer_id: str,
    principal: Admin,
    db: SessionDep,
    settings: SettingsDep,
    temporal: TemporalDep,
) -> Response:
    target = id_or_404(customer_id)
    try:
        async with db.begin():
            customer = await customer_privacy.anonymise(db, settings, actor_of(request), target)
    except customers.CustomerNotFound as missing:
        raise HTTPException(status_code=404) from missing
    except Refused as refused:
        return back_to(target, "profile", request, refusal(request, refused), "error")
    await kyc.customer_closed(temporal, customer.id)
    done = translate(request, "The customer's personal data is anonymised.")
    return back_to(customer.id, "profile", request, done, "success")
