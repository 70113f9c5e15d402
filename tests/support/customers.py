"""Customers for tests: written straight to the database, with identifiers no other test uses."""

from __future__ import annotations

import random
import uuid

from db.models import Customer, CustomerKind, CustomerStatus


def digits(count: int) -> str:
    return "".join(random.choice("0123456789") for _ in range(count))


def company_identifiers() -> dict[str, str]:
    """A NIF, NIS, RC and article d'imposition, well formed and (almost surely) unused."""
    return {
        "nif": digits(15),
        "nis": digits(15),
        "rc": f"16/00-{digits(7)}B{digits(2)}",
        "article_imposition": digits(11),
    }


async def make_customer(
    sessionmaker, *, kind: CustomerKind = CustomerKind.COMPANY,
    status: CustomerStatus = CustomerStatus.PROSPECT, name: str | None = None, **values,
) -> Customer:  # fmt: skip
    name = name or f"Client {uuid.uuid4().hex[:8]} SARL"
    async with sessionmaker() as db, db.begin():
        customer = Customer(kind=kind, name=name, legal_name=name, status=status, **values)
        db.add(customer)
    return customer
