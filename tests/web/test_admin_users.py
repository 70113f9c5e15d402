"""Admin console, users, over real HTTP: the list, inviting staff, editing, status changes,
second factor and sessions, and the rules that protect the last administrator."""

from __future__ import annotations

import html
import re

import httpx
import pytest
from sqlalchemy import select, update

from api import users
from api.access import Principal
from api.audit import SYSTEM
from api.identity import roles, throttle
from api.identity.accounts import InputError
from db.models import Role, User, UserKind, UserRole, UserStatus
from tests.support.accounts import STRONG_PASSWORD, make_person, sign_in
from tests.support.admin import (
    audit_events,
    form_token,
    fresh_user,
    invitation_path,
    own_ip,
    role_id,
    role_keys,
)

EN = {"Accept-Language": "en"}


async def _post(client: httpx.AsyncClient, path: str, page: str, data: dict | None = None):
    token = await form_token(client, page)
    return await client.post(path, data={**(data or {}), "csrf_token": token}, headers=EN)


# -- inviting staff ------------------------------------------------------------------------------


async def test_admin_invites_a_staff_member_who_accepts_and_must_set_up_two_step(
    signed_in, web_url, sessionmaker, smtp_sink, unique
):
    admin = await signed_in("admin")
    email = f"new-agent-{unique}@example.dz"
    answer = await _post(
        admin, "/admin/users/new", "/admin/users/new",
        {"full_name": "Meriem Saadi", "email": email, "locale": "en",
         "roles": [await role_id(sessionmaker, "agent")]},
    )  # fmt: skip

    assert answer.status_code == 303, answer.text[:500]
    user_path = answer.headers["location"]
    page = await admin.get(user_path, headers=EN)
    assert f"Invitation sent to {email}" in page.text and "Invited" in page.text
    [mail] = await smtp_sink.wait_for(email)
    assert "invites you to CloudManager" in mail.message["Subject"]

    async with httpx.AsyncClient(base_url=web_url, headers=own_ip()) as invitee:
        # Before accepting there is no password and no way in.
        refused = await invitee.post(
            "/login",
            data={"email": email, "password": STRONG_PASSWORD,
                  "csrf_token": await form_token(invitee, "/login")},
        )  # fmt: skip
        assert refused.status_code == 401

        link = invitation_path(mail.text)
        form = await invitee.get(link)
        assert form.status_code == 200 and email in form.text
        token = form.url.params["token"]
        accepted = await invitee.post(
            "/invitation",
            data={"token": token, "full_name": "Meriem Saadi", "password": STRONG_PASSWORD,
                  "csrf_token": await form_token(invitee, link)},
        )  # fmt: skip
        assert accepted.status_code == 303 and accepted.headers["location"] == "/login"

        signed = await invitee.post(
            "/login",
            data={"email": email, "password": STRONG_PASSWORD,
                  "csrf_token": await form_token(invitee, "/login")},
        )  # fmt: skip
        # Staff roles require two-step verification: the first sign-in sets it up.
        assert signed.status_code == 303
        assert signed.headers["location"].startswith("/login/setup-second-factor")

    user = await fresh_user(sessionmaker, user_path.rsplit("/", 1)[1])
    assert user.status == UserStatus.ACTIVE and user.email_verified_at is not None
    assert await role_keys(sessionmaker, user.id) == {"agent"}
    assert await audit_events(sessionmaker, "user.invited", user.id)
    assert await audit_events(sessionmaker, "user.invitation_accepted", user.id)


async def test_invite_form_keeps_input_and_explains_errors(signed_in, sessionmaker, unique):
    admin = await signed_in("admin")
    long_name = "<script>alert(1)</script>" + "x" * 200
    answer = await _post(
        admin, "/admin/users/new", "/admin/users/new",
        {"full_name": long_name, "email": f"nobody-{unique}", "locale": "xx"},
    )  # fmt: skip

    assert answer.status_code == 422
    body = answer.text.split("<body", 1)[1]
    assert "<script>alert(1)" not in body
    assert html.escape(long_name, quote=True)[:40] in body
    assert "Use at most 200 characters." in body
    assert "Enter a valid email address." in body
    assert "Choose a language from the list." in body
    assert "Choose at least one role." in body
    assert 'href="#f-full_name"' in body  # the summary links to the field


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("full_name", "N" * 10_000, "Use at most 200 characters."),
        ("full_name", "Ami\u202ena", "This field contains characters that are not allowed."),
        ("full_name", "Amina\x00Benali", "This field contains characters that are not allowed."),
        ("email", "a" * 10_000 + "@example.dz", "Enter a valid email address."),
    ],
    ids=["oversized name", "bidi override", "NUL byte", "oversized email"],
)
async def test_oversized_and_tricky_input_is_explained_with_the_form_kept(
    signed_in, sessionmaker, unique, field, value, message
):
    admin = await signed_in("admin")
    form = {"full_name": "Amina Benali", "email": f"amina-{unique}@example.dz", "locale": "en"}
    answer = await _post(
        admin, "/admin/users/new", "/admin/users/new",
        {**form, field: value, "roles": [await role_id(sessionmaker, "agent")]},
    )  # fmt: skip

    assert answer.status_code == 422
    assert f'id="f-{field}-error"' in answer.text and message in answer.text
    if "\x00" not in value:
        kept = re.search(rf'<input[^>]*name="{field}"[^>]*value="([^"]*)"', answer.text)
        assert html.unescape(kept.group(1)) == value, "the input is kept"
    async with sessionmaker() as db:
        assert await db.scalar(select(User).where(User.email == form["email"])) is None


async def test_an_address_that_has_an_account_cannot_be_invited(signed_in, sessionmaker):
    admin = await signed_in("admin")
    answer = await _post(
        admin, "/admin/users/new", "/admin/users/new",
        {"full_name": "Twice", "email": admin.person.email.upper(), "locale": "en",
         "roles": [await role_id(sessionmaker, "agent")]},
    )  # fmt: skip

    assert answer.status_code == 422
    assert "An account with this email address already exists." in answer.text


async def test_a_custom_role_cannot_make_an_administrator(signed_in, sessionmaker, unique):
    """Whoever may create users grants only roles within their own permissions."""
    async with sessionmaker() as db, db.begin():
        db.add(
            Role(key=f"hr_{unique}", name=f"HR {unique}", scope=UserKind.STAFF, builtin=False,
                 requires_two_factor=True, permissions=["users.view", "users.create"])
        )  # fmt: skip
    hr = await signed_in(f"hr_{unique}")
    answer = await _post(
        hr, "/admin/users/new", "/admin/users/new",
        {"full_name": "Sneaky", "email": f"sneaky-{unique}@example.dz", "locale": "en",
         "roles": [await role_id(sessionmaker, "admin")]},
    )  # fmt: skip

    assert answer.status_code == 422
    assert "You cannot grant a role with permissions you do not have." in answer.text


# -- the list ------------------------------------------------------------------------------------


async def test_list_searches_filters_sorts_and_counts(signed_in, sessionmaker, settings, unique):
    admin = await signed_in("admin")
    people = [
        await make_person(sessionmaker, settings, role=role, email=f"{prefix}-{unique}@example.dz")
        for prefix, role in (("alpha", "agent"), ("bravo", "sales"), ("charlie", "customer_owner"))
    ]
    async with sessionmaker() as db, db.begin():
        await db.execute(
            update(User).where(User.id == people[1].user.id).values(status=UserStatus.LOCKED)
        )

    everyone = await admin.get(f"/admin/users?q={unique}", headers=EN)
    assert everyone.status_code == 200
    assert "1–3 of 3" in everyone.text
    staff = await admin.get(f"/admin/users?q={unique}&kind=staff", headers=EN)
    assert "alpha-" in staff.text and "bravo-" in staff.text and "charlie-" not in staff.text
    locked = await admin.get(f"/admin/users?q={unique}&status=locked", headers=EN)
    assert "bravo-" in locked.text and "alpha-" not in locked.text and "1–1 of 1" in locked.text
    owners = await admin.get(f"/admin/users?q={unique}&role=customer_owner", headers=EN)
    assert "charlie-" in owners.text and "alpha-" not in owners.text

    descending = await admin.get(f"/admin/users?q={unique}&sort=email&dir=desc", headers=EN)
    text = descending.text
    assert text.index("charlie-") < text.index("bravo-") < text.index("alpha-")
    assert 'aria-sort="descending"' in text

    nobody = await admin.get(f"/admin/users?q=nothing-{unique}", headers=EN)
    assert "No user matches these filters." in nobody.text

    nul = await admin.get("/admin/users?q=%00x&role=%00", headers=EN)
    assert nul.status_code == 200

    fragment = await admin.get(f"/admin/users?q={unique}", headers={**EN, "HX-Request": "true"})
    assert "<html" not in fragment.text and "alpha-" in fragment.text


async def test_list_pages(signed_in, sessionmaker, settings, unique):
    admin = await signed_in("admin")
    for index in range(27):
        await make_person(
            sessionmaker, settings, role="agent", email=f"page{index:02d}-{unique}@example.dz"
        )
    first = await admin.get(f"/admin/users?q={unique}&sort=email", headers=EN)
    second = await admin.get(f"/admin/users?q={unique}&sort=email&page=2", headers=EN)

    assert "1–25 of 27" in first.text and "Page 1 of 2" in first.text
    assert f"page24-{unique}" in first.text and f"page25-{unique}" not in first.text
    assert "26–27 of 27" in second.text and f"page26-{unique}" in second.text
    assert 'rel="prev"' in second.text


@pytest.mark.parametrize(("role", "status"), [("agent", 403), ("customer_owner", 403)])
async def test_users_list_needs_users_view(signed_in, role, status):
    client = await signed_in(role)
    assert (await client.get("/admin/users")).status_code == status


async def test_viewing_is_not_changing(signed_in, sessionmaker, settings):
    """A team lead sees users (users.view) but cannot lock or edit one."""
    lead = await signed_in("team_lead")
    agent = await make_person(sessionmaker, settings, role="agent")
    page = await lead.get(f"/admin/users/{agent.user.id}", headers=EN)
    assert page.status_code == 200 and "Save changes" not in page.text

    token = await form_token(lead, f"/admin/users/{agent.user.id}")
    locked = await lead.post(f"/admin/users/{agent.user.id}/lock", data={"csrf_token": token})
    assert locked.status_code == 403
    assert (await fresh_user(sessionmaker, agent.user.id)).status == UserStatus.ACTIVE


async def test_unknown_or_malformed_user_id_is_404(signed_in):
    admin = await signed_in("admin")
    assert (await admin.get("/admin/users/00000000-0000-0000-0000-000000000000")).status_code == 404
    assert (await admin.get("/admin/users/not-a-uuid")).status_code == 404


# -- editing -------------------------------------------------------------------------------------


async def test_edit_profile_and_roles_is_audited(signed_in, sessionmaker, settings):
    admin = await signed_in("admin")
    agent = await make_person(sessionmaker, settings, role="agent")
    path = f"/admin/users/{agent.user.id}"
    answer = await _post(
        admin, path, path,
        {"full_name": "Yacine  Mansouri", "locale": "fr", "time_zone": "Europe/Paris",
         "roles": [await role_id(sessionmaker, "team_lead")]},
    )  # fmt: skip

    assert answer.status_code == 303
    user = await fresh_user(sessionmaker, agent.user.id)
    assert (user.full_name, user.locale, user.time_zone) == (
        "Yacine Mansouri", "fr", "Europe/Paris",
    )  # fmt: skip
    assert await role_keys(sessionmaker, user.id) == {"team_lead"}
    [event] = await audit_events(sessionmaker, "user.updated", user.id)
    assert event.before["roles"] == ["agent"] and event.after["roles"] == ["team_lead"]
    assert event.after["time_zone"] == "Europe/Paris" and "email" not in event.after


async def test_staff_get_staff_roles_only(signed_in, sessionmaker, settings):
    admin = await signed_in("admin")
    agent = await make_person(sessionmaker, settings, role="agent")
    path = f"/admin/users/{agent.user.id}"
    answer = await _post(
        admin, path, path,
        {"full_name": "Agent", "locale": "en", "time_zone": "Africa/Algiers",
         "roles": [await role_id(sessionmaker, "customer_owner")]},
    )  # fmt: skip

    assert answer.status_code == 422 and "Choose roles from the list." in answer.text
    assert await role_keys(sessionmaker, agent.user.id) == {"agent"}


async def test_bad_edit_rerenders_with_errors_and_changes_nothing(
    signed_in, sessionmaker, settings
):
    admin = await signed_in("admin")
    agent = await make_person(sessionmaker, settings, role="agent")
    path = f"/admin/users/{agent.user.id}"
    answer = await _post(
        admin, path, path,
        {"full_name": "Evil\u202ename", "locale": "en", "time_zone": "Mars/Olympus",
         "roles": [await role_id(sessionmaker, "agent")]},
    )  # fmt: skip

    assert answer.status_code == 422
    assert "This field contains characters that are not allowed." in answer.text
    assert "Choose a time zone from the list." in answer.text
    user = await fresh_user(sessionmaker, agent.user.id)
    assert user.full_name == agent.user.full_name and user.time_zone == "Africa/Algiers"
    assert not await audit_events(sessionmaker, "user.updated", agent.user.id)


# -- status --------------------------------------------------------------------------------------


async def test_admin_cannot_deactivate_or_lock_themselves(signed_in, sessionmaker):
    admin = await signed_in("admin")
    me = f"/admin/users/{admin.person.user.id}"
    for action in ("deactivate", "lock"):
        answer = await _post(admin, f"{me}/{action}", me)
        assert answer.status_code == 303
        page = await admin.get(me, headers=EN)
        assert f"You cannot {action} your own account." in page.text
    assert (await fresh_user(sessionmaker, admin.person.user.id)).status == UserStatus.ACTIVE


async def test_deactivation_ends_sessions_and_reactivation_restores(
    signed_in, sessionmaker, settings
):
    admin = await signed_in("admin")
    member = await signed_in("customer_member")
    assert (await member.get("/portal")).status_code == 200
    path = f"/admin/users/{member.person.user.id}"

    assert (await _post(admin, f"{path}/deactivate", path)).status_code == 303
    assert (await fresh_user(sessionmaker, member.person.user.id)).status == (
        UserStatus.DEACTIVATED
    )
    kicked = await member.get("/portal")
    assert kicked.status_code == 303 and kicked.headers["location"].startswith("/login")

    assert (await _post(admin, f"{path}/reactivate", path)).status_code == 303
    assert (await fresh_user(sessionmaker, member.person.user.id)).status == UserStatus.ACTIVE
    [event] = await audit_events(sessionmaker, "user.deactivated", member.person.user.id)
    assert event.before == {"status": "active"} and event.after["status"] == "deactivated"


async def test_unlock_ends_a_lock_and_the_failed_sign_in_lockout(
    signed_in, web_url, sessionmaker, settings
):
    admin = await signed_in("admin")
    member = await make_person(sessionmaker, settings, role="customer_member")
    async with httpx.AsyncClient(base_url=web_url, headers=own_ip()) as attacker:
        token = await form_token(attacker, "/login")
        for _ in range(settings.auth_max_failures_per_account):
            await attacker.post(
                "/login", data={"email": member.email, "password": "wrong", "csrf_token": token}
            )
    async with sessionmaker() as db:
        assert await throttle.locked_until(db, [throttle.account_key(member.email)])
    path = f"/admin/users/{member.user.id}"
    page = await admin.get(path, headers=EN)
    assert "Locked out until" in page.text

    assert (await _post(admin, f"{path}/lock", path)).status_code == 303
    assert (await fresh_user(sessionmaker, member.user.id)).status == UserStatus.LOCKED
    assert (await _post(admin, f"{path}/unlock", path)).status_code == 303

    assert (await fresh_user(sessionmaker, member.user.id)).status == UserStatus.ACTIVE
    async with sessionmaker() as db:
        assert await throttle.locked_until(db, [throttle.account_key(member.email)]) is None
    async with httpx.AsyncClient(base_url=web_url, headers=own_ip()) as again:
        await sign_in(again, member)
    [event] = await audit_events(sessionmaker, "user.unlocked", member.user.id)
    assert event.after == {"status": "active", "lockout_cleared": True}


async def test_reset_two_factor_makes_the_next_sign_in_set_it_up(
    signed_in, web_url, sessionmaker, settings
):
    admin = await signed_in("admin")
    agent = await make_person(sessionmaker, settings, role="agent")
    path = f"/admin/users/{agent.user.id}"
    assert "Reset two-step verification" in (await admin.get(path, headers=EN)).text

    assert (await _post(admin, f"{path}/reset-two-factor", path)).status_code == 303

    user = await fresh_user(sessionmaker, agent.user.id)
    assert user.totp_secret_encrypted is None and user.totp_enabled_at is None
    async with httpx.AsyncClient(base_url=web_url, headers=own_ip()) as browser:
        answer = await browser.post(
            "/login",
            data={"email": agent.email, "password": agent.password,
                  "csrf_token": await form_token(browser, "/login")},
        )  # fmt: skip
    assert answer.headers["location"].startswith("/login/setup-second-factor")
    assert await audit_events(sessionmaker, "user.2fa_reset", agent.user.id)


async def test_admin_sees_and_revokes_sessions(signed_in, sessionmaker):
    admin = await signed_in("admin")
    member = await signed_in("customer_member")
    path = f"/admin/users/{member.person.user.id}"
    page = await admin.get(path, headers=EN)
    assert "Active sessions" in page.text and "python-httpx" in page.text

    assert (await _post(admin, f"{path}/revoke-sessions", path)).status_code == 303

    assert (await member.get("/portal")).status_code == 303
    [event] = await audit_events(sessionmaker, "user.sessions_revoked", member.person.user.id)
    assert event.after == {"sessions_ended": 1}


# -- the last administrator ----------------------------------------------------------------------


async def test_the_last_active_administrator_keeps_the_role_and_the_status(sessionmaker, settings):
    """Checked on the service inside one transaction that is rolled back: the shared test
    database holds many admins, so the others are set aside for the duration."""
    admin = await make_person(sessionmaker, settings, role="admin")
    helper = await make_person(sessionmaker, settings, role="admin")
    agent_role = await role_id(sessionmaker, "agent")
    async with sessionmaker() as db:
        try:
            admin_role = await roles.role_by_key(db, "admin")
            held, _ = await roles.permissions_of(db, helper.user.id)
            holders = select(UserRole.user_id).where(UserRole.role_id == admin_role.id)
            await db.execute(
                update(User)
                .where(User.id != admin.user.id, User.status == UserStatus.ACTIVE)
                .where(User.id.in_(holders))
                .values(status=UserStatus.DEACTIVATED)
            )
            # `helper` (set aside too) acts, with an administrator's permissions.
            by = Principal(helper.user, None, held)
            with pytest.raises(users.Refused, match="last active administrator"):
                await users.deactivate(db, by, SYSTEM, admin.user.id)
            with pytest.raises(users.Refused, match="last active administrator"):
                await users.lock(db, by, SYSTEM, admin.user.id)
            changes = users.ProfileChanges("Admin", "en", "UTC", [agent_role])
            with pytest.raises(InputError) as refused:
                await users.update_user(db, by, SYSTEM, admin.user.id, changes)
            assert "last active administrator" in refused.value.errors["roles"][0]
        finally:
            await db.rollback()
