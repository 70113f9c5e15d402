"""Admin console, Support › acknowledgements (/admin/support/acknowledgements): for each support
group, whether a ticket opened by mail is acknowledged by email, and the group's paragraph in
that email. One form per group; a refusal shows the page again with that group's input kept."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from starlette.responses import Response

from api.identity.accounts import InputError
from api.routes.deps import SessionDep, actor_of
from api.support.acknowledgements import TEXT_LIMIT, acknowledgements, save_acknowledgement
from web.forms import field_errors, id_or_404
from web.support_pages import Editor, Flag, Text, Viewer, back_to
from web.templating import render, translate

router = APIRouter(prefix="/acknowledgements")
LIST = "/admin/support/acknowledgements"


async def _page(
    request: Request, db, principal, *, kept: dict | None = None, errors: dict | None = None,
    status_code: int = 200,
) -> Response:  # fmt: skip
    return render(
        request,
        "admin/support/acknowledgements.html",
        {
            "principal": principal, "rows": await acknowledgements(db), "kept": kept or {},
            "errors": errors or {}, "limit": TEXT_LIMIT,
        },
        status_code=status_code,
    )  # fmt: skip


@router.get("")
async def acknowledgements_page(request: Request, principal: Viewer, db: SessionDep) -> Response:
    return await _page(request, db, principal)


@router.post("/{group_id}")
async def save(
    request: Request, group_id: str, principal: Editor, db: SessionDep, acknowledge: Flag = "",
    text: Text = "",
) -> Response:  # fmt: skip
    target = id_or_404(group_id)
    try:
        async with db.begin():
            group = await save_acknowledgement(
                db, actor_of(request), target, bool(acknowledge), text
            )
    except InputError as problem:
        kept = {"group_id": str(target), "acknowledge": bool(acknowledge), "text": text}
        return await _page(
            request, db, principal, kept=kept, errors=field_errors(request, problem),
            status_code=422,
        )  # fmt: skip
    if group is None:
        raise HTTPException(status_code=404)
    message = translate(request, "Acknowledgement of %(name)s saved.", name=group.name)
    return back_to(request, f"{LIST}#group-{target}", message)
