"""Admin console, Support › categories (/admin/support/categories): the tree, a category's form,
deletion of an unused one (a used one is deactivated instead)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from starlette.responses import Response

from api.identity.accounts import InputError
from api.routes.deps import SessionDep, actor_of
from api.support import categories
from api.support.common import Refused
from db.models import TicketCategory
from db.queries.support import all_groups
from web.forms import field_errors, id_or_404, refusal
from web.support_pages import (
    Editor,
    Flag,
    Text,
    Viewer,
    back_to,
    category_options,
    group_options,
    missing_is_404,
)
from web.templating import render, translate

router = APIRouter(prefix="/categories")
LIST = "/admin/support/categories"


@router.get("")
async def categories_list(request: Request, principal: Viewer, db: SessionDep) -> Response:
    groups = {group.id: group for group in await all_groups(db)}
    return render(
        request,
        "admin/support/categories/index.html",
        {"principal": principal, "tree": await categories.category_tree(db), "groups": groups},
    )


def _without_subtree(
    tree: list[tuple[TicketCategory, int]], category: TicketCategory | None
) -> list[tuple[TicketCategory, int]]:
    """The possible parents: every category but this one and those beneath it."""
    if category is None:
        return tree
    kept, skipping_below = [], None
    for node, depth in tree:
        if skipping_below is not None and depth > skipping_below:
            continue
        skipping_below = None
        if node.id == category.id:
            skipping_below = depth
            continue
        kept.append((node, depth))
    return kept


async def _page(
    request: Request, db, principal, *, category: TicketCategory | None, form: dict,
    errors: dict | None = None, status_code: int = 200, refused: str = "",
) -> Response:  # fmt: skip
    tree = await categories.category_tree(db)
    return render(
        request,
        "admin/support/categories/form.html",
        {
            "principal": principal,
            "category": category,
            "form": form,
            "errors": errors or {},
            "parent_options": category_options(_without_subtree(tree, category)),
            "group_options": group_options(request, await all_groups(db)),
            "usage": await categories.usage(db, category.id) if category else {},
            "refused": refused,
        },
        status_code=status_code,
    )


def _form_of(category: TicketCategory) -> dict:
    return {
        "name": category.name,
        "parent_id": str(category.parent_id or ""),
        "group_id": str(category.group_id or ""),
        "position": str(category.position),
        "active": category.active,
    }


def _submitted(name: str, parent_id: str, group_id: str, position: str, active: str):
    form = categories.CategoryForm(name, parent_id, group_id, position, bool(active))
    return form, {**vars(form)}


@router.get("/new")
async def new_category(
    request: Request, principal: Editor, db: SessionDep, parent: str = ""
) -> Response:
    form = {"name": "", "parent_id": parent[:36], "group_id": "", "position": "0", "active": True}
    return await _page(request, db, principal, category=None, form=form)


@router.post("/new")
async def create_category(
    request: Request, principal: Editor, db: SessionDep, name: Text = "", parent_id: Text = "",
    group_id: Text = "", position: Text = "0", active: Flag = "",
) -> Response:  # fmt: skip
    submitted, form = _submitted(name, parent_id, group_id, position, active)
    try:
        async with db.begin():
            category = await categories.create_category(db, actor_of(request), submitted)
    except InputError as problem:
        return await _page(
            request, db, principal, category=None, form=form,
            errors=field_errors(request, problem), status_code=422,
        )  # fmt: skip
    message = translate(request, "Category %(name)s created.", name=category.name)
    return back_to(request, LIST, message)


async def _find(db, category_id: uuid.UUID) -> TicketCategory:
    with missing_is_404():
        return await categories.find_category(db, category_id)


@router.get("/{category_id}")
async def category_page(
    request: Request, category_id: str, principal: Viewer, db: SessionDep
) -> Response:
    category = await _find(db, id_or_404(category_id))
    return await _page(request, db, principal, category=category, form=_form_of(category))


@router.post("/{category_id}")
async def update_category(
    request: Request, category_id: str, principal: Editor, db: SessionDep, name: Text = "",
    parent_id: Text = "", group_id: Text = "", position: Text = "0", active: Flag = "",
) -> Response:  # fmt: skip
    target = id_or_404(category_id)
    submitted, form = _submitted(name, parent_id, group_id, position, active)
    try:
        with missing_is_404():
            async with db.begin():
                await categories.update_category(db, actor_of(request), target, submitted)
    except InputError as problem:
        return await _page(
            request, db, principal, category=await _find(db, target), form=form,
            errors=field_errors(request, problem), status_code=422,
        )  # fmt: skip
    return back_to(request, LIST, translate(request, "Changes saved."))


@router.post("/{category_id}/delete")
async def delete_category(
    request: Request, category_id: str, principal: Editor, db: SessionDep
) -> Response:
    target = id_or_404(category_id)
    try:
        with missing_is_404():
            async with db.begin():
                await categories.delete_category(db, actor_of(request), target)
    except Refused as refused:
        category = await _find(db, target)
        return await _page(
            request, db, principal, category=category, form=_form_of(category),
            status_code=409, refused=refusal(request, refused),
        )  # fmt: skip
    return back_to(request, LIST, translate(request, "Category deleted."))
