"""Admin console, Support › canned replies (/admin/support/replies): the list by category, a
reply's form (its body a template checked on save, with a preview on sample values)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from starlette.responses import Response

from api.identity.accounts import InputError
from api.routes.deps import SessionDep, actor_of
from api.support import canned_replies
from db.models import CannedReply
from db.queries.support import canned_replies as all_replies
from web.forms import field_errors, id_or_404
from web.support_pages import Editor, Flag, Text, Viewer, back_to, missing_is_404
from web.templating import render, translate

router = APIRouter(prefix="/replies")
LIST = "/admin/support/replies"


@router.get("")
async def replies_list(request: Request, principal: Viewer, db: SessionDep) -> Response:
    return render(
        request,
        "admin/support/replies/index.html",
        {"principal": principal, "replies": await all_replies(db)},
    )


def _preview(body: str) -> str:
    """The body rendered with the sample values, or "" when it cannot be."""
    if not body or canned_replies.template_problem(body):
        return ""
    return canned_replies.render_canned_reply(body, canned_replies.SAMPLE_VALUES)


def _page(
    request: Request, principal, *, reply: CannedReply | None, form: dict,
    errors: dict | None = None, status_code: int = 200,
) -> Response:  # fmt: skip
    return render(
        request,
        "admin/support/replies/form.html",
        {
            "principal": principal,
            "reply": reply,
            "form": form,
            "errors": errors or {},
            "variables": canned_replies.VARIABLES,
            "preview": _preview(reply.body) if reply and not errors else "",
        },
        status_code=status_code,
    )


def _form_of(reply: CannedReply) -> dict:
    return {
        "category": reply.category,
        "title": reply.title,
        "body": reply.body,
        "active": reply.active,
    }


@router.get("/new")
async def new_reply(request: Request, principal: Editor) -> Response:
    form = {"category": "", "title": "", "body": "", "active": True}
    return _page(request, principal, reply=None, form=form)


@router.post("/new")
async def create_reply(
    request: Request, principal: Editor, db: SessionDep, category: Text = "", title: Text = "",
    body: Text = "", active: Flag = "",
) -> Response:  # fmt: skip
    submitted = canned_replies.CannedReplyForm(title, body, category, bool(active))
    try:
        async with db.begin():
            reply = await canned_replies.create_reply(db, actor_of(request), submitted)
    except InputError as problem:
        return _page(
            request, principal, reply=None, form=vars(submitted),
            errors=field_errors(request, problem), status_code=422,
        )  # fmt: skip
    message = translate(request, "Reply %(title)s created.", title=reply.title)
    return back_to(request, f"{LIST}/{reply.id}", message)


async def _find(db, reply_id: uuid.UUID) -> CannedReply:
    with missing_is_404():
        return await canned_replies.find_reply(db, reply_id)


@router.get("/{reply_id}")
async def reply_page(request: Request, reply_id: str, principal: Viewer, db: SessionDep):
    reply = await _find(db, id_or_404(reply_id))
    return _page(request, principal, reply=reply, form=_form_of(reply))


@router.post("/{reply_id}")
async def update_reply(
    request: Request, reply_id: str, principal: Editor, db: SessionDep, category: Text = "",
    title: Text = "", body: Text = "", active: Flag = "",
) -> Response:  # fmt: skip
    target = id_or_404(reply_id)
    submitted = canned_replies.CannedReplyForm(title, body, category, bool(active))
    try:
        with missing_is_404():
            async with db.begin():
                await canned_replies.update_reply(db, actor_of(request), target, submitted)
    except InputError as problem:
        return _page(
            request, principal, reply=await _find(db, target), form=vars(submitted),
            errors=field_errors(request, problem), status_code=422,
        )  # fmt: skip
    return back_to(request, f"{LIST}/{target}", translate(request, "Changes saved."))


@router.post("/{reply_id}/delete")
async def delete_reply(request: Request, reply_id: str, principal: Editor, db: SessionDep):
    with missing_is_404():
        async with db.begin():
            await canned_replies.delete_reply(db, actor_of(request), id_or_404(reply_id))
    return back_to(request, LIST, translate(request, "Reply deleted."))
