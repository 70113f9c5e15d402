"""Admin console, Support › groups (/admin/support/groups): the list, a group's settings, its
members (added, removed, marked away or back). The members panel answers htmx requests with
itself, plain forms with a redirect."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from starlette.responses import Response

from api.identity.accounts import InputError
from api.routes.deps import SessionDep, actor_of
from api.support import availability, groups
from api.support.common import NotFound, Refused
from db.models import SupportGroup, User
from db.queries.support import group_rows
from web.forms import field_errors, id_or_404, refusal
from web.support_pages import (
    Editor,
    Flag,
    Text,
    Viewer,
    back_to,
    missing_is_404,
    person_options,
)
from web.templating import is_fragment_request, render, translate

router = APIRouter(prefix="/groups")
LIST = "/admin/support/groups"
DAYS = (
    "close_resolved_after_days",
    "remind_waiting_after_days",
    "close_waiting_after_days",
    "reopen_window_days",
)


@router.get("")
async def groups_list(request: Request, principal: Viewer, db: SessionDep) -> Response:
    return render(
        request,
        "admin/support/groups/index.html",
        {"principal": principal, "rows": await group_rows(db)},
    )


async def _page(
    request: Request, db, principal, *, group: SupportGroup | None, form: dict,
    errors: dict | None = None, status_code: int = 200, refused: str = "",
    member_errors: dict | None = None, member_notice: str = "", block: str | None = None,
) -> Response:  # fmt: skip
    staff = await groups.staff_choices(db)
    leads = list(staff)
    if group and group.lead_id and all(person.id != group.lead_id for person in staff):
        # A lead whose account was deactivated stays chosen until someone replaces them.
        leads.append(await db.get_one(User, group.lead_id))
    members = await groups.members(db, group.id) if group else []
    member_ids = {member.id for member in members}
    return render(
        request,
        "admin/support/groups/form.html",
        {
            "principal": principal,
            "group": group,
            "form": form,
            "errors": errors or {},
            "staff_options": person_options(leads),
            "members": members,
            "candidate_options": person_options(p for p in staff if p.id not in member_ids),
            "member_errors": member_errors or {},
            "member_notice": member_notice,
            "refused": refused,
        },
        status_code=status_code,
        block=block,
    )


def _form_of(group: SupportGroup) -> dict:
    return {
        "name": group.name,
        "lead_id": str(group.lead_id or ""),
        "assignment_mode": group.assignment_mode,
        **{key: str(getattr(group, key)) for key in DAYS},
        "is_default": group.is_default,
        "active": group.active,
    }


@router.get("/new")
async def new_group(request: Request, principal: Editor, db: SessionDep) -> Response:
    form = vars(groups.GroupForm(name=""))
    return await _page(request, db, principal, group=None, form=form)


def _submitted(
    name: str, lead_id: str, assignment_mode: str, days: tuple[str, ...], is_default: str,
    active: str,
) -> groups.GroupForm:  # fmt: skip
    return groups.GroupForm(
        name, lead_id, assignment_mode, *days, is_default=bool(is_default), active=bool(active)
    )


@router.post("/new")
async def create_group(
    request: Request, principal: Editor, db: SessionDep, name: Text = "", lead_id: Text = "",
    assignment_mode: Text = "", close_resolved_after_days: Text = "",
    remind_waiting_after_days: Text = "", close_waiting_after_days: Text = "",
    reopen_window_days: Text = "", is_default: Flag = "", active: Flag = "",
) -> Response:  # fmt: skip
    days = (
        close_resolved_after_days,
        remind_waiting_after_days,
        close_waiting_after_days,
        reopen_window_days,
    )
    submitted = _submitted(name, lead_id, assignment_mode, days, is_default, active)
    try:
        async with db.begin():
            group = await groups.create_group(db, actor_of(request), submitted)
    except InputError as problem:
        return await _page(
            request, db, principal, group=None, form=vars(submitted),
            errors=field_errors(request, problem), status_code=422,
        )  # fmt: skip
    message = translate(request, "Group %(name)s created: add its members.", name=group.name)
    return back_to(request, f"{LIST}/{group.id}", message)


async def _find(db, group_id: uuid.UUID) -> SupportGroup:
    with missing_is_404():
        return await groups.find_group(db, group_id)


@router.get("/{group_id}")
async def group_page(request: Request, group_id: str, principal: Viewer, db: SessionDep):
    group = await _find(db, id_or_404(group_id))
    return await _page(request, db, principal, group=group, form=_form_of(group))


@router.post("/{group_id}")
async def update_group(
    request: Request, group_id: str, principal: Editor, db: SessionDep, name: Text = "",
    lead_id: Text = "", assignment_mode: Text = "", close_resolved_after_days: Text = "",
    remind_waiting_after_days: Text = "", close_waiting_after_days: Text = "",
    reopen_window_days: Text = "", is_default: Flag = "", active: Flag = "",
) -> Response:  # fmt: skip
    target = id_or_404(group_id)
    days = (
        close_resolved_after_days,
        remind_waiting_after_days,
        close_waiting_after_days,
        reopen_window_days,
    )
    submitted = _submitted(name, lead_id, assignment_mode, days, is_default, active)
    try:
        with missing_is_404():
            async with db.begin():
                await groups.update_group(db, actor_of(request), target, submitted)
    except InputError as problem:
        return await _page(
            request, db, principal, group=await _find(db, target), form=vars(submitted),
            errors=field_errors(request, problem), status_code=422,
        )  # fmt: skip
    return back_to(request, f"{LIST}/{target}", translate(request, "Changes saved."))


@router.post("/{group_id}/delete")
async def delete_group(request: Request, group_id: str, principal: Editor, db: SessionDep):
    target = id_or_404(group_id)
    try:
        with missing_is_404():
            async with db.begin():
                await groups.delete_group(db, actor_of(request), target)
    except Refused as refused:
        group = await _find(db, target)
        return await _page(
            request, db, principal, group=group, form=_form_of(group), status_code=409,
            refused=refusal(request, refused),
        )  # fmt: skip
    return back_to(request, LIST, translate(request, "Group deleted."))


# -- members -------------------------------------------------------------------------------------


async def _members_answer(
    request: Request, db, principal, group_id: uuid.UUID, notice: str
) -> Response:
    """htmx: the members panel with the notice; a plain form: back to the group's page."""
    if is_fragment_request(request):
        group = await _find(db, group_id)
        return await _page(
            request, db, principal, group=group, form=_form_of(group), member_notice=notice,
            block="members",
        )  # fmt: skip
    return back_to(request, f"{LIST}/{group_id}#members", notice)


@router.post("/{group_id}/members")
async def add_member(
    request: Request, group_id: str, principal: Editor, db: SessionDep, user_id: Text = ""
) -> Response:
    target = id_or_404(group_id)
    try:
        with missing_is_404():
            async with db.begin():
                user = await groups.add_member(db, actor_of(request), target, user_id)
    except InputError as problem:
        group = await _find(db, target)
        return await _page(
            request, db, principal, group=group, form=_form_of(group), status_code=422,
            member_errors=field_errors(request, problem), block="members",
        )  # fmt: skip
    notice = translate(request, "%(name)s joined the group.", name=user.full_name)
    return await _members_answer(request, db, principal, target, notice)


@router.post("/{group_id}/members/{user_id}/remove")
async def remove_member(
    request: Request, group_id: str, user_id: str, principal: Editor, db: SessionDep
) -> Response:
    target, member = id_or_404(group_id), id_or_404(user_id)
    with missing_is_404():
        async with db.begin():
            await groups.remove_member(db, actor_of(request), target, member)
    notice = translate(request, "Removed from the group.")
    return await _members_answer(request, db, principal, target, notice)


@router.post("/{group_id}/members/{user_id}/away")
async def set_member_away(
    request: Request, group_id: str, user_id: str, principal: Editor, db: SessionDep,
    away: Flag = "",
) -> Response:  # fmt: skip
    target, member = id_or_404(group_id), id_or_404(user_id)
    with missing_is_404():
        async with db.begin():
            if not await groups.is_member(db, target, member):
                raise NotFound(member)
            user = await availability.set_away(db, actor_of(request), member, bool(away))
    if user.away:
        notice = translate(
            request, "%(name)s is away: no automatic assignments.", name=user.full_name
        )
    else:
        notice = translate(request, "%(name)s is back.", name=user.full_name)
    return await _members_answer(request, db, principal, target, notice)
