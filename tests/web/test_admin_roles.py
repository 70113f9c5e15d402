"""Admin console, roles, over real HTTP: the list, custom roles created, edited and deleted,
built-in roles protected, and an edit taking effect on the holders' next request."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from api.permissions import ALL_PERMISSIONS
from db.models import Role, UserKind
from tests.support.accounts import make_person
from tests.support.admin import audit_events, form_token, fresh_role, role_id

EN = {"Accept-Language": "en"}


async def _custom_role(sessionmaker, key: str, permissions: list[str], scope=UserKind.STAFF):
    async with sessionmaker() as db, db.begin():
        role = Role(
            key=key,
            name=key.replace("_", " ").title(),
            scope=scope,
            builtin=False,
            requires_two_factor=scope == UserKind.STAFF,
            permissions=permissions,
        )
        db.add(role)
        await db.flush()
        return role


async def _post(client, path: str, page: str, data: dict | None = None):
    token = await form_token(client, page)
    return await client.post(path, data={**(data or {}), "csrf_token": token}, headers=EN)


async def test_roles_list_marks_built_in_roles_and_counts_holders(signed_in):
    admin = await signed_in("admin")
    page = await admin.get("/admin/roles", headers=EN)

    assert page.status_code == 200
    assert "Administrator" in page.text and "Company owner" in page.text
    assert "Built-in" in page.text
    assert f"{len(ALL_PERMISSIONS)} of {len(ALL_PERMISSIONS)}" in page.text


async def test_admin_creates_a_custom_role_with_the_matrix(signed_in, sessionmaker, unique):
    admin = await signed_in("admin")
    form = await admin.get("/admin/roles/new", headers=EN)
    assert 'name="permissions" value="tickets.reply"' in form.text
    assert "Tickets: Reply" in form.text  # every checkbox has a label

    answer = await _post(
        admin, "/admin/roles/new", "/admin/roles/new",
        {"name": f"Support niveau {unique}", "scope": "staff",
         "permissions": ["tickets.view", "tickets.reply"], "requires_two_factor": "on"},
    )  # fmt: skip

    assert answer.status_code == 303
    role = await fresh_role(sessionmaker, answer.headers["location"].rsplit("/", 1)[1])
    assert role.key == f"support_niveau_{unique}" and not role.builtin
    assert sorted(role.permissions) == ["tickets.reply", "tickets.view"]
    assert role.requires_two_factor and role.scope == UserKind.STAFF
    [event] = await audit_events(sessionmaker, "role.created", role.id)
    assert event.after["permissions"] == ["tickets.reply", "tickets.view"]


async def test_bad_role_input_rerenders_and_creates_nothing(signed_in, sessionmaker, unique):
    admin = await signed_in("admin")
    name = f"<script>alert('{unique}')</script>" + "r" * 100
    answer = await _post(
        admin, "/admin/roles/new", "/admin/roles/new",
        {"name": name, "scope": "robots", "permissions": ["tickets.view", "billing.steal"]},
    )  # fmt: skip

    assert answer.status_code == 422
    body = answer.text.split("<body", 1)[1]
    assert "<script>alert(" not in body and "&lt;script&gt;alert(" in body
    assert "Use at most 100 characters." in body
    assert "Choose who this role is for." in body
    assert "Choose permissions from the table." in body
    async with sessionmaker() as db:
        assert await db.scalar(select(func.count()).where(Role.name.contains(unique))) == 0


async def test_role_names_are_unique(signed_in, sessionmaker, unique):
    admin = await signed_in("admin")
    await _custom_role(sessionmaker, f"dup_{unique}", [])
    answer = await _post(
        admin, "/admin/roles/new", "/admin/roles/new",
        {"name": f"DUP {unique}", "scope": "staff"},
    )  # fmt: skip
    assert answer.status_code == 422 and "Another role already has this name." in answer.text


async def test_built_in_roles_cannot_be_deleted(signed_in, sessionmaker):
    admin = await signed_in("admin")
    agent = await role_id(sessionmaker, "agent")
    answer = await _post(admin, f"/admin/roles/{agent}/delete", f"/admin/roles/{agent}")

    assert answer.status_code == 409
    assert "Built-in roles cannot be deleted." in answer.text
    assert await fresh_role(sessionmaker, agent) is not None


async def test_a_role_still_held_cannot_be_deleted_and_says_by_how_many(
    signed_in, sessionmaker, settings, unique
):
    admin = await signed_in("admin")
    held = await _custom_role(sessionmaker, f"held_{unique}", ["tickets.view"])
    for _ in range(2):
        await make_person(sessionmaker, settings, role=held.key)
    path = f"/admin/roles/{held.id}"

    refused = await _post(admin, f"{path}/delete", path)
    assert refused.status_code == 409
    assert "This role is held by 2 users" in refused.text
    assert await fresh_role(sessionmaker, held.id) is not None

    unused = await _custom_role(sessionmaker, f"unused_{unique}", ["tickets.view"])
    done = await _post(admin, f"/admin/roles/{unused.id}/delete", f"/admin/roles/{unused.id}")
    assert done.status_code == 303 and done.headers["location"] == "/admin/roles"
    assert await fresh_role(sessionmaker, unused.id) is None
    [event] = await audit_events(sessionmaker, "role.deleted", unused.id)
    assert event.before["key"] == f"unused_{unique}"


async def test_a_permission_edit_takes_effect_on_the_next_request(signed_in, sessionmaker, unique):
    admin = await signed_in("admin")
    role = await _custom_role(sessionmaker, f"viewers_{unique}", ["users.view"])
    viewer = await signed_in(role.key)
    assert (await viewer.get("/admin/users")).status_code == 200
    path = f"/admin/roles/{role.id}"

    answer = await _post(
        admin, path, path,
        {"name": role.name, "permissions": ["tickets.view"], "requires_two_factor": "on"},
    )  # fmt: skip

    assert answer.status_code == 303
    assert (await viewer.get("/admin/users")).status_code == 403
    [event] = await audit_events(sessionmaker, "role.updated", role.id)
    assert event.before == {"permissions": ["users.view"]}
    assert event.after == {"permissions": ["tickets.view"]}


async def test_the_administrator_role_always_keeps_every_permission(signed_in, sessionmaker):
    admin = await signed_in("admin")
    admin_role = await role_id(sessionmaker, "admin")
    path = f"/admin/roles/{admin_role}"
    page = await admin.get(path, headers=EN)
    assert "The administrator role always has every permission." in page.text

    answer = await _post(
        admin, path, path, {"permissions": ["tickets.view"], "requires_two_factor": "on"}
    )

    assert answer.status_code == 303
    role = await fresh_role(sessionmaker, admin_role)
    assert set(role.permissions) == ALL_PERMISSIONS and role.name == "Administrator"


async def test_nobody_grants_a_permission_they_do_not_have(signed_in, sessionmaker, unique):
    editor_role = await _custom_role(
        sessionmaker, f"editors_{unique}", ["settings.view", "settings.edit"]
    )
    editor = await signed_in(editor_role.key)
    answer = await _post(
        editor, "/admin/roles/new", "/admin/roles/new",
        {"name": f"Power {unique}", "scope": "staff", "permissions": ["users.delete"]},
    )  # fmt: skip

    assert answer.status_code == 422
    assert "You cannot grant permissions you do not have." in answer.text


@pytest.mark.parametrize("role", ["agent", "team_lead", "customer_owner"])
async def test_roles_need_settings_view(signed_in, role):
    client = await signed_in(role)
    assert (await client.get("/admin/roles")).status_code == 403
