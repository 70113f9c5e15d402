"""Helpers shared by the pages that manage users, roles and invitations: service errors in the
reader's language, and a user-facing id that answers 404 when it is not one."""

from __future__ import annotations

import uuid

from fastapi import HTTPException, Request

from api.identity.accounts import InputError
from api.users import Refused
from web.templating import translate

# Text fields are checked by the services, which explain "at most N characters" next to the
# field with the input kept. Beyond this much, a request is not someone typing: FastAPI refuses
# it with the generic "invalid input" page before anything runs.
TEXT_LIMIT = 20_000


def field_errors(request: Request, problem: InputError) -> dict[str, str]:
    return {
        name: translate(request, message, **variables)
        for name, (message, variables) in problem.errors.items()
    }


def refusal(request: Request, refused: Refused) -> str:
    return translate(request, refused.message, **refused.variables)


def id_or_404(raw: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except ValueError as invalid:
        raise HTTPException(status_code=404) from invalid
