"""Admin console, roles (/admin/roles): the list, the permission matrix of each role, custom
roles created and deleted, built-in ones edited but never deleted."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from api import roles as role_editor
from api.access import STAFF, Principal, require, signed_in
from api.identity.accounts import InputError
from api.permissions import ACTION_LABELS, ALL_PERMISSIONS, AREA_LABELS, PERMISSIONS
from api.routes.deps import SessionDep, actor_of
from api.users import Refused
from db.models import Role
from db.queries.users import all_roles, role_holders
from web.flash import flash
from web.forms import TEXT_LIMIT, field_errors, id_or_404, refusal
from web.templating import render, translate

router = APIRouter(
    prefix="/admin/roles", include_in_schema=False, dependencies=[Depends(signed_in(STAFF))]
)

Viewer = Annotated[Principal, Depends(require("settings.view"))]
Editor = Annotated[Principal, Depends(require("settings.edit"))]
Name = Annotated[str, Form(max_length=TEXT_LIMIT)]
Text = Annotated[str, Form(max_length=TEXT_LIMIT)]
Permissions = Annotated[list[str] | None, Form(max_length=len(ALL_PERMISSIONS) + 10)]

ACTIONS: tuple[str, ...] = tuple(dict.fromkeys(a for acts in PERMISSIONS.values() for a in acts))


def _matrix(request: Request) -> dict:
    """Rows (areas) × columns (actions), translated; a cell is None where the area has no such
    action."""
    return {
        "columns": [(action, translate(request, ACTION_LABELS[action])) for action in ACTIONS],
        "rows": [
            (
                area,
                translate(request, AREA_LABELS[area]),
                [f"{area}.{action}" if action in actions else None for action in ACTIONS],
            )
            for area, actions in PERMISSIONS.items()
        ],
        "labels": {
            f"{area}.{action}": translate(
                request,
                "%(area)s: %(action)s",
                area=translate(request, AREA_LABELS[area]),
                action=translate(request, ACTION_LABELS[action]),
            )
            for area, actions in PERMISSIONS.items()
            for action in actions
        },
    }


@router.get("")
async def roles_list(request: Request, principal: Viewer, db: SessionDep) -> Response:
    return render(
        request,
        "admin/roles/index.html",
        {
            "principal": principal,
            "roles": await all_roles(db),
            "holders": await role_holders(db),
            "all_count": len(ALL_PERMISSIONS),
        },
    )


def _role_page(
    request: Request,
    principal: Principal,
    *,
    role: Role | None,
    form: dict,
    errors: dict | None = None,
    holders: int = 0,
    status_code: int = 200,
    delete_refused: str = "",
) -> Response:
    return render(
        request,
        "admin/roles/form.html",
        {
            "principal": principal,
            "role": role,
            "form": form,
            "errors": errors or {},
            "holders": holders,
            "matrix": _matrix(request),
            "editable": principal.can("settings.edit"),
            "delete_refused": delete_refused,
        },
        status_code=status_code,
    )


@router.get("/new")
async def new_role_form(request: Request, principal: Editor) -> Response:
    form = {"name": "", "scope": "staff", "permissions": [], "requires_two_factor": True}
    return _role_page(request, principal, role=None, form=form)


@router.post("/new")
async def create_role(
    request: Request,
    principal: Editor,
    db: SessionDep,
    name: Name = "",
    scope: Text = "",
    permissions: Permissions = None,
    requires_two_factor: Text = "",
) -> Response:
    chosen = permissions or []
    form = {
        "name": name,
        "scope": scope,
        "permissions": chosen,
        "requires_two_factor": bool(requires_two_factor),
    }
    submitted = role_editor.RoleForm(name, scope, chosen, bool(requires_two_factor))
    try:
        async with db.begin():
            role = await role_editor.create_role(db, principal, actor_of(request), submitted)
    except InputError as problem:
        return _role_page(
            request, principal, role=None, form=form,
            errors=field_errors(request, problem), status_code=422,
        )  # fmt: skip
    response = RedirectResponse(f"/admin/roles/{role.id}", status_code=303)
    flash(
        request, response, translate(request, "Role %(name)s created.", name=role.name), "success"
    )
    return response


async def _find(db, role_id: str) -> Role:
    try:
        return await role_editor.find_role(db, id_or_404(role_id))
    except role_editor.RoleNotFound as missing:
        raise HTTPException(status_code=404) from missing


def _form_of(role: Role) -> dict:
    return {
        "name": role.name,
        "scope": role.scope.value,
        "permissions": list(role.permissions),
        "requires_two_factor": role.requires_two_factor,
    }


@router.get("/{role_id}")
async def role_page(request: Request, role_id: str, principal: Viewer, db: SessionDep) -> Response:
    role = await _find(db, role_id)
    holders = await role_editor.holders(db, role.id)
    return _role_page(request, principal, role=role, form=_form_of(role), holders=holders)


@router.post("/{role_id}")
async def update_role(
    request: Request,
    role_id: str,
    principal: Editor,
    db: SessionDep,
    name: Name = "",
    permissions: Permissions = None,
    requires_two_factor: Text = "",
) -> Response:
    target = id_or_404(role_id)
    chosen = permissions or []
    try:
        async with db.begin():
            current = await role_editor.find_role(db, target)
            submitted = role_editor.RoleForm(
                name, current.scope.value, chosen, bool(requires_two_factor)
            )
            role = await role_editor.update_role(
                db, principal, actor_of(request), target, submitted
            )
    except role_editor.RoleNotFound as missing:
        raise HTTPException(status_code=404) from missing
    except InputError as problem:
        role = await _find(db, role_id)
        form = {
            "name": name,
            "scope": role.scope.value,
            "permissions": chosen,
            "requires_two_factor": bool(requires_two_factor),
        }
        return _role_page(
            request, principal, role=role, form=form, errors=field_errors(request, problem),
            holders=await role_editor.holders(db, role.id), status_code=422,
        )  # fmt: skip
    response = RedirectResponse(f"/admin/roles/{role.id}", status_code=303)
    flash(request, response, translate(request, "Changes saved."), "success")
    return response


@router.post("/{role_id}/delete")
async def delete_role(request: Request, role_id: str, principal: Editor, db: SessionDep):
    target: uuid.UUID = id_or_404(role_id)
    try:
        async with db.begin():
            await role_editor.delete_role(db, actor_of(request), target)
    except role_editor.RoleNotFound as missing:
        raise HTTPException(status_code=404) from missing
    except (Refused, role_editor.RoleInUse) as refused:
        role = await _find(db, role_id)
        holders = await role_editor.holders(db, role.id)
        message = refusal(request, refused) if isinstance(refused, Refused) else ""
        # Built-in: the reason in words; still held: the template says by how many (plural).
        return _role_page(
            request, principal, role=role, form=_form_of(role), holders=holders,
            status_code=409, delete_refused=message or "in_use",
        )  # fmt: skip
    response = RedirectResponse("/admin/roles", status_code=303)
    flash(request, response, translate(request, "Role deleted."), "success")
    return response
