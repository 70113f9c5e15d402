"""Admin console, Support › SLA policies (/admin/support/policies): the policies in the order
they are tried, a policy's conditions and targets, and its escalation levels."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from starlette.responses import Response

from api.identity.accounts import InputError
from api.routes.deps import SessionDep, actor_of
from api.support import categories, sla_policies
from api.support.common import Refused
from db.models import SlaEscalationLevel, SlaPolicy
from db.models.tickets import PRIORITIES
from db.queries.support import all_calendars, all_groups, policy_rows
from web.forms import field_errors, id_or_404, refusal
from web.support_pages import (
    Choices,
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

router = APIRouter(prefix="/policies")
LIST = "/admin/support/policies"


@router.get("")
async def policies_list(request: Request, principal: Viewer, db: SessionDep) -> Response:
    return render(
        request,
        "admin/support/policies/index.html",
        {"principal": principal, "rows": await policy_rows(db)},
    )


def _form_of(policy: SlaPolicy) -> dict:
    return {
        "name": policy.name,
        "position": str(policy.position),
        "match_priorities": list(policy.match_priorities or []),
        "match_category_id": str(policy.match_category_id or ""),
        "match_segment": policy.match_segment or "",
        "calendar_id": str(policy.calendar_id),
        "targets": {
            name: sla_policies.split_minutes(getattr(policy, f"{name}_minutes"))
            for name in sla_policies.TARGETS
        },
        "warning_minutes": str(policy.warning_minutes),
        "active": policy.active,
    }


def _level_form_of(level: SlaEscalationLevel) -> dict:
    return {
        "after_minutes": str(level.after_minutes),
        "notify_lead": level.notify_lead,
        "notify_admins": level.notify_admins,
        "raise_priority": level.raise_priority,
        "reassign_group_id": str(level.reassign_group_id or ""),
    }


async def _page(
    request: Request, db, principal, *, policy: SlaPolicy | None, form: dict,
    errors: dict | None = None, status_code: int = 200, refused: str = "",
    level_forms: dict | None = None, level_errors: dict | None = None,
) -> Response:  # fmt: skip
    """`level_forms`/`level_errors`: by level id ("new" for the add form), the input and the
    errors of the one level form that was just refused."""
    levels = await sla_policies.levels_of(db, policy.id) if policy else []
    calendars = await all_calendars(db)
    return render(
        request,
        "admin/support/policies/form.html",
        {
            "principal": principal,
            "policy": policy,
            "form": form,
            "errors": errors or {},
            "refused": refused,
            "priorities": PRIORITIES,
            "category_options": category_options(await categories.category_tree(db)),
            "calendar_options": [(str(c.id), c.name) for c in calendars],
            "group_options": group_options(request, await all_groups(db)),
            "levels": levels,
            "level_forms": {
                **{str(level.id): _level_form_of(level) for level in levels},
                # A new level is offered an hour after the last one.
                "new": vars(
                    sla_policies.LevelForm(str(levels[-1].after_minutes + 60) if levels else "0")
                ),
                **(level_forms or {}),
            },
            "level_errors": level_errors or {},
            "max_levels": sla_policies.MAX_LEVELS,
        },
        status_code=status_code,
    )


def _submitted(
    name: str, position: str, match_priorities: list[str] | None, match_category_id: str,
    match_segment: str, calendar_id: str, durations: dict[str, tuple[str, str]],
    warning_minutes: str, active: str,
) -> tuple[sla_policies.PolicyForm, dict]:  # fmt: skip
    form = sla_policies.PolicyForm(
        name=name,
        calendar_id=calendar_id,
        position=position,
        match_priorities=match_priorities or [],
        match_category_id=match_category_id,
        match_segment=match_segment,
        targets=durations,
        warning_minutes=warning_minutes,
        active=bool(active),
    )
    return form, vars(form)


@router.get("/new")
async def new_policy(request: Request, principal: Editor, db: SessionDep) -> Response:
    calendars = await all_calendars(db)  # the default first
    form = {
        "name": "",
        "position": "0",
        "match_priorities": [],
        "match_category_id": "",
        "match_segment": "",
        "calendar_id": str(calendars[0].id) if calendars else "",
        "targets": {name: ("", "") for name in sla_policies.TARGETS},
        "warning_minutes": "30",
        "active": True,
    }
    return await _page(request, db, principal, policy=None, form=form)


@router.post("/new")
async def create_policy(
    request: Request, principal: Editor, db: SessionDep, name: Text = "", position: Text = "0",
    match_priorities: Choices = None, match_category_id: Text = "", match_segment: Text = "",
    calendar_id: Text = "", first_response_hours: Text = "", first_response_minutes: Text = "",
    next_response_hours: Text = "", next_response_minutes: Text = "",
    resolution_hours: Text = "", resolution_minutes: Text = "", warning_minutes: Text = "",
    active: Flag = "",
) -> Response:  # fmt: skip
    durations = {
        "first_response": (first_response_hours, first_response_minutes),
        "next_response": (next_response_hours, next_response_minutes),
        "resolution": (resolution_hours, resolution_minutes),
    }
    submitted, form = _submitted(
        name, position, match_priorities, match_category_id, match_segment, calendar_id,
        durations, warning_minutes, active,
    )  # fmt: skip
    try:
        async with db.begin():
            policy = await sla_policies.create_policy(db, actor_of(request), submitted)
    except InputError as problem:
        return await _page(
            request, db, principal, policy=None, form=form,
            errors=field_errors(request, problem), status_code=422,
        )  # fmt: skip
    message = translate(
        request, "Policy %(name)s created: add its escalation levels.", name=policy.name
    )
    return back_to(request, f"{LIST}/{policy.id}", message)


async def _find(db, policy_id: uuid.UUID) -> SlaPolicy:
    with missing_is_404():
        return await sla_policies.find_policy(db, policy_id)


@router.get("/{policy_id}")
async def policy_page(request: Request, policy_id: str, principal: Viewer, db: SessionDep):
    policy = await _find(db, id_or_404(policy_id))
    return await _page(request, db, principal, policy=policy, form=_form_of(policy))


@router.post("/{policy_id}")
async def update_policy(
    request: Request, policy_id: str, principal: Editor, db: SessionDep, name: Text = "",
    position: Text = "0", match_priorities: Choices = None, match_category_id: Text = "",
    match_segment: Text = "", calendar_id: Text = "", first_response_hours: Text = "",
    first_response_minutes: Text = "", next_response_hours: Text = "",
    next_response_minutes: Text = "", resolution_hours: Text = "", resolution_minutes: Text = "",
    warning_minutes: Text = "", active: Flag = "",
) -> Response:  # fmt: skip
    target = id_or_404(policy_id)
    durations = {
        "first_response": (first_response_hours, first_response_minutes),
        "next_response": (next_response_hours, next_response_minutes),
        "resolution": (resolution_hours, resolution_minutes),
    }
    submitted, form = _submitted(
        name, position, match_priorities, match_category_id, match_segment, calendar_id,
        durations, warning_minutes, active,
    )  # fmt: skip
    try:
        with missing_is_404():
            async with db.begin():
                await sla_policies.update_policy(db, actor_of(request), target, submitted)
    except InputError as problem:
        return await _page(
            request, db, principal, policy=await _find(db, target), form=form,
            errors=field_errors(request, problem), status_code=422,
        )  # fmt: skip
    return back_to(request, f"{LIST}/{target}", translate(request, "Changes saved."))


@router.post("/{policy_id}/delete")
async def delete_policy(request: Request, policy_id: str, principal: Editor, db: SessionDep):
    target = id_or_404(policy_id)
    try:
        with missing_is_404():
            async with db.begin():
                await sla_policies.delete_policy(db, actor_of(request), target)
    except Refused as refused:
        policy = await _find(db, target)
        return await _page(
            request, db, principal, policy=policy, form=_form_of(policy), status_code=409,
            refused=refusal(request, refused),
        )  # fmt: skip
    return back_to(request, LIST, translate(request, "Policy deleted."))


# -- escalation levels ---------------------------------------------------------------------------


def _level_submitted(
    after_minutes: str, notify_lead: str, notify_admins: str, raise_priority: str,
    reassign_group_id: str,
) -> sla_policies.LevelForm:  # fmt: skip
    return sla_policies.LevelForm(
        after_minutes, bool(notify_lead), bool(notify_admins), bool(raise_priority),
        reassign_group_id,
    )  # fmt: skip


async def _level_refused(
    request: Request, db, principal, policy_id: uuid.UUID, key: str,
    submitted: sla_policies.LevelForm, errors: dict, status_code: int = 422,
) -> Response:  # fmt: skip
    policy = await _find(db, policy_id)
    return await _page(
        request, db, principal, policy=policy, form=_form_of(policy),
        level_forms={key: vars(submitted)}, level_errors={key: errors}, status_code=status_code,
    )  # fmt: skip


@router.post("/{policy_id}/levels")
async def add_level(
    request: Request, policy_id: str, principal: Editor, db: SessionDep,
    after_minutes: Text = "", notify_lead: Flag = "", notify_admins: Flag = "",
    raise_priority: Flag = "", reassign_group_id: Text = "",
) -> Response:  # fmt: skip
    target = id_or_404(policy_id)
    submitted = _level_submitted(
        after_minutes, notify_lead, notify_admins, raise_priority, reassign_group_id
    )
    try:
        with missing_is_404():
            async with db.begin():
                level = await sla_policies.add_level(db, actor_of(request), target, submitted)
    except InputError as problem:
        errors = field_errors(request, problem)
        return await _level_refused(request, db, principal, target, "new", submitted, errors)
    except Refused as refused:
        errors = {"after_minutes": refusal(request, refused)}
        return await _level_refused(request, db, principal, target, "new", submitted, errors, 409)
    message = translate(request, "Escalation level %(level)s added.", level=level.level)
    return back_to(request, f"{LIST}/{target}#levels", message)


@router.post("/{policy_id}/levels/{level_id}")
async def update_level(
    request: Request, policy_id: str, level_id: str, principal: Editor, db: SessionDep,
    after_minutes: Text = "", notify_lead: Flag = "", notify_admins: Flag = "",
    raise_priority: Flag = "", reassign_group_id: Text = "",
) -> Response:  # fmt: skip
    target, level_target = id_or_404(policy_id), id_or_404(level_id)
    submitted = _level_submitted(
        after_minutes, notify_lead, notify_admins, raise_priority, reassign_group_id
    )
    try:
        with missing_is_404():
            async with db.begin():
                level = await sla_policies.update_level(
                    db, actor_of(request), target, level_target, submitted
                )
    except InputError as problem:
        errors = field_errors(request, problem)
        return await _level_refused(
            request, db, principal, target, str(level_target), submitted, errors
        )
    message = translate(request, "Escalation level %(level)s saved.", level=level.level)
    return back_to(request, f"{LIST}/{target}#levels", message)


@router.post("/{policy_id}/levels/{level_id}/delete")
async def delete_level(
    request: Request, policy_id: str, level_id: str, principal: Editor, db: SessionDep
) -> Response:
    target = id_or_404(policy_id)
    with missing_is_404():
        async with db.begin():
            await sla_policies.delete_level(db, actor_of(request), target, id_or_404(level_id))
    message = translate(request, "Escalation level deleted; the ones after it moved up.")
    return back_to(request, f"{LIST}/{target}#levels", message)
