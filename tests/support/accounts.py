"""People for tests: users created straight in the database, signed in through the real forms."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

import httpx
import pyotp
from sqlalchemy import func, select

from api.identity import passwords, roles, totp
from db.models import Customer, CustomerKind, CustomerStatus, User

STRONG_PASSWORD = "Tilleul-Horizon-Basalte-42"
CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')
_HASH = passwords.hash_password_sync(STRONG_PASSWORD)  # hashing is slow: once per test run


@dataclass
class Person:
    user: User
    password: str
    totp_secret: str | None

    @property
    def email(self) -> str:
        return self.user.email


async def make_person(
    sessionmaker, settings, *, role: str = "customer_owner", customer: Customer | None = None,
    verified: bool = True, two_factor: bool | None = None, email: str | None = None,
) -> Person:  # fmt: skip
    """A user with one built-in role. Staff get TOTP (their roles require it) unless told."""
    async with sessionmaker() as db, db.begin():
        role_row = await roles.role_by_key(db, role)
        staff = role_row.scope.value == "staff"
        if not staff and customer is None:
            customer = Customer(
                kind=CustomerKind.COMPANY, name=f"Test {uuid.uuid4().hex[:6]} SARL",
                status=CustomerStatus.ACTIVE,
            )  # fmt: skip
            db.add(customer)
            await db.flush()
        secret = pyotp.random_base32() if (staff if two_factor is None else two_factor) else None
        now = await db.scalar(select(func.now()))
        user = User(
            email=email or f"{role}-{uuid.uuid4().hex[:8]}@example.dz",
            full_name=f"Test {role.replace('_', ' ').title()}",
            kind=role_row.scope,
            customer_id=None if staff else customer.id,
            locale="en",
            password_hash=_HASH,
            email_verified_at=now if verified else None,
            totp_secret_encrypted=totp.encrypt_secret(settings.secret, secret) if secret else None,
            totp_enabled_at=now if secret else None,
        )
        db.add(user)
        await db.flush()
        await roles.assign_roles(db, user.id, [role_row.id])
    return Person(user, STRONG_PASSWORD, secret)


async def csrf_token(http: httpx.AsyncClient, path: str = "/login") -> str:
    page = await http.get(path)
    return CSRF_INPUT.search(page.text).group(1)


async def sign_in(http: httpx.AsyncClient, person: Person) -> httpx.Response:
    """Through /login (and the second step when the person has TOTP); the client keeps the
    session cookie."""
    token = await csrf_token(http)
    answer = await http.post(
        "/login", data={"email": person.email, "password": person.password, "csrf_token": token}
    )
    assert answer.status_code == 303, answer.text[:500]
    if "/login/second-factor" in answer.headers["location"]:
        answer = await http.post(
            "/login/second-factor",
            data={"code": pyotp.TOTP(person.totp_secret).now(), "csrf_token": token},
        )
        assert answer.status_code == 303, answer.text[:500]
    return answer
