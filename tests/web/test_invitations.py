"""Invitations over real HTTP: the acceptance page (one answer for every bad link), and the
portal's company users page where owners invite and deactivate colleagues of their own company
and never anyone else's."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select, update

from api.permissions import BUILTIN_BY_KEY
from db.models import Customer, OneTimeToken, Role, User, UserKind, UserStatus
from tests.support.accounts import STRONG_PASSWORD, make_person
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
INVALID = "This invitation link is invalid or has expired."


async def _invite_staff(admin, sessionmaker, smtp_sink, email: str) -> tuple[str, str]:
    """(the invited user's id, the path of the link in their email)."""
    token = await form_token(admin, "/admin/users/new")
    answer = await admin.post(
        "/admin/users/new",
        data={"full_name": "Invited Person", "email": email, "locale": "en",
              "roles": [await role_id(sessionmaker, "agent")], "csrf_token": token},
    )  # fmt: skip
    assert answer.status_code == 303, answer.text[:300]
    [mail] = await smtp_sink.wait_for(email)
    return answer.headers["location"].rsplit("/", 1)[1], invitation_path(mail.text)


async def _accept(client: httpx.AsyncClient, link: str, **fields) -> httpx.Response:
    token = link.split("token=", 1)[1]
    csrf = await form_token(client, "/login")
    data = {"token": token, "full_name": "Invited Person", "password": STRONG_PASSWORD}
    return await client.post("/invitation", data={**data, **fields, "csrf_token": csrf})


async def test_used_expired_and_unknown_links_get_one_same_answer(
    signed_in, web_url, sessionmaker, smtp_sink, unique
):
    admin = await signed_in("admin")
    _, used_link = await _invite_staff(admin, sessionmaker, smtp_sink, f"used-{unique}@example.dz")
    expired_id, expired_link = await _invite_staff(
        admin, sessionmaker, smtp_sink, f"expired-{unique}@example.dz"
    )
    async with sessionmaker() as db, db.begin():
        await db.execute(
            update(OneTimeToken)
            .where(OneTimeToken.user_id == expired_id)
            .values(created_at=OneTimeToken.created_at - timedelta(days=8),
                    expires_at=OneTimeToken.expires_at - timedelta(days=8))
        )  # fmt: skip

    async with httpx.AsyncClient(base_url=web_url, headers=own_ip()) as browser:
        assert (await _accept(browser, used_link)).status_code == 303
        answers = {
            "used": await browser.get(used_link),
            "expired": await browser.get(expired_link),
            "unknown": await browser.get("/invitation?token=not-a-real-token"),
            "missing": await browser.get("/invitation"),
            "used again": await _accept(browser, used_link),
            "expired post": await _accept(browser, expired_link),
        }
    for name, answer in answers.items():
        assert answer.status_code == 400, name
        assert INVALID in answer.text, name
        assert 'name="password"' not in answer.text, name
    assert (await fresh_user(sessionmaker, expired_id)).status == UserStatus.INVITED


async def test_a_weak_password_is_explained_and_the_link_still_works(
    signed_in, web_url, sessionmaker, smtp_sink, unique
):
    admin = await signed_in("admin")
    user_id, link = await _invite_staff(admin, sessionmaker, smtp_sink, f"weak-{unique}@example.dz")
    async with httpx.AsyncClient(base_url=web_url, headers=own_ip()) as browser:
        weak = await _accept(browser, link, password="password1234", full_name="A\u202eB")
        assert weak.status_code == 422
        assert "too easy to guess" in weak.text
        assert "characters that are not allowed" in weak.text
        assert (await fresh_user(sessionmaker, user_id)).status == UserStatus.INVITED
        assert (await _accept(browser, link)).status_code == 303
    assert (await fresh_user(sessionmaker, user_id)).status == UserStatus.ACTIVE


async def test_a_deactivated_invitation_cannot_be_accepted(
    signed_in, web_url, sessionmaker, smtp_sink, unique
):
    admin = await signed_in("admin")
    user_id, link = await _invite_staff(
        admin, sessionmaker, smtp_sink, f"withdrawn-{unique}@example.dz"
    )
    token = await form_token(admin, f"/admin/users/{user_id}")
    await admin.post(f"/admin/users/{user_id}/deactivate", data={"csrf_token": token})

    async with httpx.AsyncClient(base_url=web_url, headers=own_ip()) as browser:
        answer = await _accept(browser, link)
    assert answer.status_code == 400 and INVALID in answer.text
    assert (await fresh_user(sessionmaker, user_id)).status == UserStatus.DEACTIVATED


async def test_resending_an_invitation_retires_the_previous_link(
    signed_in, web_url, sessionmaker, smtp_sink, unique
):
    admin = await signed_in("admin")
    email = f"resend-{unique}@example.dz"
    user_id, first_link = await _invite_staff(admin, sessionmaker, smtp_sink, email)
    token = await form_token(admin, f"/admin/users/{user_id}")
    resent = await admin.post(
        f"/admin/users/{user_id}/resend-invitation", data={"csrf_token": token}
    )
    assert resent.status_code == 303
    mails = await smtp_sink.wait_for(email, count=2)
    second_link = invitation_path(mails[-1].text)

    assert second_link != first_link
    async with httpx.AsyncClient(base_url=web_url, headers=own_ip()) as browser:
        assert (await browser.get(first_link)).status_code == 400
        assert (await browser.get(second_link)).status_code == 200


# -- the portal: a company's users ---------------------------------------------------------------


async def test_an_owner_invites_a_colleague_into_their_own_company(
    signed_in, web_url, sessionmaker, smtp_sink, unique
):
    owner = await signed_in("customer_owner")
    page = await owner.get("/portal/company/users", headers=EN)
    assert page.status_code == 200 and owner.person.email in page.text
    assert 'href="/portal/company/users" aria-current="page"' in page.text

    email = f"colleague-{unique}@example.dz"
    token = await form_token(owner, "/portal/company/users/invite")
    answer = await owner.post(
        "/portal/company/users/invite",
        data={"full_name": "Nour Colleague", "email": email, "locale": "en",
              "roles": [await role_id(sessionmaker, "customer_member")], "csrf_token": token},
    )  # fmt: skip
    assert answer.status_code == 303
    listed = await owner.get("/portal/company/users", headers=EN)
    assert email in listed.text and "Invited" in listed.text

    [mail] = await smtp_sink.wait_for(email)
    assert "invites you to" in mail.message["Subject"] and "SARL" in mail.message["Subject"]
    async with httpx.AsyncClient(base_url=web_url, headers=own_ip()) as browser:
        assert (await _accept(browser, invitation_path(mail.text))).status_code == 303
        signed = await browser.post(
            "/login",
            data={"email": email, "password": STRONG_PASSWORD,
                  "csrf_token": await form_token(browser, "/login")},
        )  # fmt: skip
        assert signed.status_code == 303 and signed.headers["location"] == "/portal"

    async with sessionmaker() as db:
        joined = await db.scalar(select(User).where(User.email == email))
    assert joined.customer_id == owner.person.user.customer_id
    assert joined.kind == UserKind.CUSTOMER
    assert await role_keys(sessionmaker, joined.id) == {"customer_member"}


async def test_colleagues_get_customer_roles_only(signed_in, sessionmaker, unique):
    owner = await signed_in("customer_owner")
    token = await form_token(owner, "/portal/company/users/invite")
    answer = await owner.post(
        "/portal/company/users/invite",
        data={"full_name": "Sneaky", "email": f"sneaky-{unique}@example.dz", "locale": "en",
              "roles": [await role_id(sessionmaker, "admin")], "csrf_token": token},
    )  # fmt: skip

    assert answer.status_code == 422 and "Choose roles from the list." in answer.text


async def test_another_companys_users_are_invisible_and_answer_404(
    signed_in, sessionmaker, settings
):
    owner = await signed_in("customer_owner")
    stranger = await make_person(sessionmaker, settings, role="customer_member")
    page = await owner.get("/portal/company/users")
    assert stranger.email not in page.text

    token = await form_token(owner, "/portal/company/users")
    for action in ("deactivate", "resend-invitation"):
        answer = await owner.post(
            f"/portal/company/users/{stranger.user.id}/{action}", data={"csrf_token": token}
        )
        assert answer.status_code == 404, action
    assert (await fresh_user(sessionmaker, stranger.user.id)).status == UserStatus.ACTIVE


async def test_an_owner_deactivates_a_colleague_but_never_themselves(
    signed_in, sessionmaker, settings
):
    owner = await signed_in("customer_owner")
    async with sessionmaker() as db:
        company = await db.get(Customer, owner.person.user.customer_id)
    colleague = await make_person(sessionmaker, settings, role="customer_member", customer=company)
    token = await form_token(owner, "/portal/company/users")

    myself = await owner.post(
        f"/portal/company/users/{owner.person.user.id}/deactivate", data={"csrf_token": token}
    )
    assert myself.status_code == 303
    assert (
        "You cannot deactivate your own account."
        in (await owner.get("/portal/company/users", headers=EN)).text
    )
    done = await owner.post(
        f"/portal/company/users/{colleague.user.id}/deactivate", data={"csrf_token": token}
    )
    assert done.status_code == 303

    assert (await fresh_user(sessionmaker, owner.person.user.id)).status == UserStatus.ACTIVE
    assert (await fresh_user(sessionmaker, colleague.user.id)).status == UserStatus.DEACTIVATED
    assert await audit_events(sessionmaker, "user.deactivated", colleague.user.id)


async def test_the_last_active_owner_stays_active(signed_in, sessionmaker, settings, unique):
    """A co-manager role with the owner's permissions, but not the owner role, may deactivate
    colleagues, never the company's last active owner."""
    async with sessionmaker() as db, db.begin():
        db.add(
            Role(key=f"co_manager_{unique}", name=f"Co-manager {unique}",
                 scope=UserKind.CUSTOMER, builtin=False, requires_two_factor=False,
                 permissions=sorted(BUILTIN_BY_KEY["customer_owner"].permissions))
        )  # fmt: skip
    owner = await make_person(sessionmaker, settings, role="customer_owner")
    async with sessionmaker() as db:
        company = await db.get(Customer, owner.user.customer_id)
    manager = await signed_in(f"co_manager_{unique}", customer=company)

    token = await form_token(manager, "/portal/company/users")
    answer = await manager.post(
        f"/portal/company/users/{owner.user.id}/deactivate", data={"csrf_token": token}
    )

    assert answer.status_code == 303
    page = await manager.get("/portal/company/users", headers=EN)
    assert "is the last active owner of the company" in page.text
    assert (await fresh_user(sessionmaker, owner.user.id)).status == UserStatus.ACTIVE


@pytest.mark.parametrize(
    ("role", "path", "status"),
    [
        ("customer_member", "/portal/company/users", 403),
        ("billing_contact", "/portal/company/users/invite", 403),
        ("admin", "/portal/company/users", 403),
    ],
)
async def test_company_pages_need_their_permission(signed_in, role, path, status):
    client = await signed_in(role)
    assert (await client.get(path)).status_code == status
