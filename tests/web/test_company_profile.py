"""The portal's company pages: owners edit their company's profile (bad input comes back with
the reason and what was typed), members only read it, and company roles change without ever
leaving the company without an active owner."""

from __future__ import annotations

from db.models import Customer
from tests.support.accounts import make_person
from tests.support.admin import audit_events, form_token, role_id, role_keys
from tests.support.customers import company_identifiers

EN = {"Accept-Language": "en"}


async def test_an_owner_saves_the_company_profile(signed_in, sessionmaker):
    owner = await signed_in("customer_owner")
    ids = company_identifiers()
    token = await form_token(owner, "/portal/company")

    answer = await owner.post(
        "/portal/company",
        data={"legal_name": "Sahara Hosting SARL", "nif": ids["nif"], "rc": ids["rc"],
              "preferred_language": "fr", "billing_line1": "3 rue Larbi Ben M'hidi",
              "billing_city": "Oran", "csrf_token": token},
    )  # fmt: skip

    assert answer.status_code == 303 and answer.headers["location"] == "/portal/company"
    async with sessionmaker() as db:
        company = await db.get(Customer, owner.person.user.customer_id)
    assert (company.name, company.nif, company.rc) == ("Sahara Hosting SARL", ids["nif"], ids["rc"])
    assert await audit_events(sessionmaker, "customer.updated", company.id)


async def test_a_bad_identifier_comes_back_with_its_reason_and_the_input_kept(signed_in):
    owner = await signed_in("customer_owner")
    token = await form_token(owner, "/portal/company")

    answer = await owner.post(
        "/portal/company",
        data={"legal_name": "Typo SARL", "nif": "12345", "rc": "16/00-1234567B21",
              "preferred_language": "fr", "csrf_token": token},
        headers=EN,
    )  # fmt: skip

    assert answer.status_code == 422
    assert "Enter the 15 digits of the NIF" in answer.text
    assert 'value="12345"' in answer.text and 'value="Typo SARL"' in answer.text


async def test_a_member_reads_the_profile_but_cannot_change_it(signed_in):
    member = await signed_in("customer_member")
    page = await member.get("/portal/company", headers=EN)
    assert page.status_code == 200 and 'name="legal_name"' not in page.text

    token = await form_token(member, "/portal/company")
    answer = await member.post(
        "/portal/company", data={"legal_name": "Hijack SARL", "csrf_token": token}
    )
    assert answer.status_code == 403


async def test_an_owner_makes_a_colleague_technical_contact(signed_in, sessionmaker, settings):
    owner = await signed_in("customer_owner")
    async with sessionmaker() as db:
        company = await db.get(Customer, owner.person.user.customer_id)
    colleague = await make_person(sessionmaker, settings, role="customer_member", customer=company)
    token = await form_token(owner, "/portal/company/users")

    answer = await owner.post(
        f"/portal/company/users/{colleague.user.id}/roles",
        data={"roles": [await role_id(sessionmaker, "technical_contact")], "csrf_token": token},
    )

    assert answer.status_code == 303
    assert await role_keys(sessionmaker, colleague.user.id) == {"technical_contact"}


async def test_the_last_owner_cannot_give_up_the_owner_role(signed_in, sessionmaker):
    owner = await signed_in("customer_owner")
    token = await form_token(owner, "/portal/company/users")

    answer = await owner.post(
        f"/portal/company/users/{owner.person.user.id}/roles",
        data={"roles": [await role_id(sessionmaker, "customer_member")], "csrf_token": token},
    )

    assert answer.status_code == 303
    page = await owner.get("/portal/company/users", headers=EN)
    assert "is the last active owner of the company and keeps the owner role" in page.text
    assert await role_keys(sessionmaker, owner.person.user.id) == {"customer_owner"}


async def test_another_companys_user_roles_answer_404(signed_in, sessionmaker, settings):
    owner = await signed_in("customer_owner")
    stranger = await make_person(sessionmaker, settings, role="customer_member")
    token = await form_token(owner, "/portal/company/users")

    answer = await owner.post(
        f"/portal/company/users/{stranger.user.id}/roles",
        data={"roles": [await role_id(sessionmaker, "customer_owner")], "csrf_token": token},
    )

    assert answer.status_code == 404
    assert await role_keys(sessionmaker, stranger.user.id) == {"customer_member"}
