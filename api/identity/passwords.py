"""Password hashing (Argon2id, OWASP parameters) and the password policy.

Hashing costs ~20 ms of CPU and 19 MiB of memory on purpose: it runs in a thread so the event
loop keeps serving other requests meanwhile.
"""

from __future__ import annotations

import asyncio
import re
import unicodedata
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from zxcvbn import zxcvbn

from i18n import N_

# OWASP Password Storage Cheat Sheet: Argon2id, m=19 MiB, t=2, p=1.
HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
MIN_LENGTH = 12
MIN_SCORE = 3
MAX_LENGTH = 128  # beyond this a "password" is a denial-of-service attempt on the hasher


@dataclass(frozen=True)
class PasswordProblem:
    message: str  # an N_() msgid, translated where shown
    variables: dict[str, object]


def hash_password_sync(password: str) -> str:
    return HASHER.hash(password)


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(HASHER.hash, password)


async def verify_password(password_hash: str | None, password: str) -> tuple[bool, str | None]:
    """(matches, new hash when the stored one uses weaker parameters than today's)."""
    if not password_hash:
        # Spend the same time as a real check, so response times do not reveal accounts.
        await asyncio.to_thread(HASHER.hash, password)
        return False, None
    try:
        await asyncio.to_thread(HASHER.verify, password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False, None
    if HASHER.check_needs_rehash(password_hash):
        return True, await hash_password(password)
    return True, None


def _normalised(value: str) -> str:
    return unicodedata.normalize("NFKC", value).casefold()


def password_problem(
    password: str, *, email: str = "", names: tuple[str, ...] = ()
) -> PasswordProblem | None:
    """Why this password is refused, or None. Checks, in the order a person can act on them:
    length, derivation from the email or names, then zxcvbn's strength estimate."""
    if len(password) < MIN_LENGTH:
        return PasswordProblem(N_("Use at least %(count)s characters."), {"count": MIN_LENGTH})
    if len(password) > MAX_LENGTH:
        return PasswordProblem(N_("Use at most %(count)s characters."), {"count": MAX_LENGTH})
    lowered = _normalised(password)
    local_part = email.split("@", 1)[0]
    personal = [local_part, email, *names]
    for word in personal:
        for piece in re.split(r"[\W_]+", _normalised(word)):
            if len(piece) >= 4 and piece in lowered:
                return PasswordProblem(
                    N_("Do not build your password from your email address or your company name."),
                    {},
                )
    result = zxcvbn(password[:100], user_inputs=[word for word in personal if word])
    if result["score"] < MIN_SCORE:
        return PasswordProblem(
            N_("This password is too easy to guess: add more unrelated words or characters."), {}
        )
    return None
