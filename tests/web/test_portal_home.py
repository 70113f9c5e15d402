"""The portal's home: the KYC step first (its file starts with the first visit), then the
company's open tickets (never another company's), quick actions and the company's users."""

from __future__ import annotations

import asyncio
import uuid

from db.models import Customer, Ticket
from tests.support.accounts import make_person
from tests.support.customers import make_customer

EN = {"Accept-Language": "en"}


async def _ticket(sessionmaker, customer_id, subject: str, status: str = "open") -> None:
    async with sessionmaker() as db, db.begin():
        db.add(
            Ticket(
                id=uuid.uuid4(), number=f"TST-{uuid.uuid4().hex[:12]}", subject=subject,
                customer_id=customer_id, channel="portal", priority="medium", status=status,
            )
        )  # fmt: skip


async def test_the_home_shows_the_kyc_step_and_starts_the_file(signed_in, sessionmaker):
    owner = await signed_in("customer_owner")
    customer_id = owner.person.user.customer_id

    page = await owner.get("/portal", headers=EN)

    assert page.status_code == 200 and "Next step: upload your company" in page.text
    for _ in range(100):
        async with sessionmaker() as db:
            if (await db.get(Customer, customer_id)).kyc_state == "collecting":
                break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("the KYC file did not start")


async def test_the_home_lists_only_the_companys_open_tickets(signed_in, sessionmaker, settings):
    owner = await signed_in("customer_owner")
    other = await make_customer(sessionmaker)
    await _ticket(sessionmaker, owner.person.user.customer_id, "Serveur lent")
    await _ticket(sessionmaker, owner.person.user.customer_id, "Vieux souci", status="closed")
    await _ticket(sessionmaker, other.id, "Secret d'un autre")
    colleague = await make_person(
        sessionmaker, settings, role="customer_member",
        customer=await _customer(sessionmaker, owner.person.user.customer_id),
    )  # fmt: skip

    page = (await owner.get("/portal", headers=EN)).text

    assert "Serveur lent" in page and "Vieux souci" not in page
    assert "Secret d'un autre" not in page
    assert colleague.email in page


async def _customer(sessionmaker, customer_id) -> Customer:
    async with sessionmaker() as db:
        return await db.get(Customer, customer_id)
