"""Admin console, Support (/admin/support): the helpdesk configuration. This page links the
sections; each section is its own module, included here so the application registers one
router: categories, groups, calendars, SLA policies, canned replies, mailboxes,
acknowledgements."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from api.access import STAFF, signed_in
from api.routes.deps import SessionDep
from db.queries.support import support_counts
from web.routes import (
    admin_support_acknowledgements,
    admin_support_calendars,
    admin_support_categories,
    admin_support_groups,
    admin_support_mailboxes,
    admin_support_policies,
    admin_support_replies,
)
from web.support_pages import Viewer
from web.templating import render

router = APIRouter(
    prefix="/admin/support", include_in_schema=False, dependencies=[Depends(signed_in(STAFF))]
)


@router.get("")
async def support_home(request: Request, principal: Viewer, db: SessionDep) -> Response:
    return render(
        request,
        "admin/support/index.html",
        {"principal": principal, "counts": await support_counts(db)},
    )


for section in (
    admin_support_categories,
    admin_support_groups,
    admin_support_calendars,
    admin_support_policies,
    admin_support_replies,
    admin_support_mailboxes,
    admin_support_acknowledgements,
):
    router.include_router(section.router)
