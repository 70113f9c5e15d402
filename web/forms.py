"""Helpers shared by the pages that manage users, roles and invitations: service errors in the
reader's language, a user-facing id that answers 404 when it is not one, the invitation form."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Annotated
from urllib.parse import urlencode

from fastapi import File, HTTPException, Request, UploadFile
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

import i18n
from api import users
from api.access import Principal
from api.identity.accounts import InputError
from api.users import Refused
from db.models import UserKind
from db.queries.users import all_roles
from web.templating import render, translate

# Text fields are checked by the services, which explain "at most N characters" next to the
# field with the input kept. Beyond this much, a request is not someone typing: FastAPI refuses
# it with the generic "invalid input" page before anything runs.
TEXT_LIMIT = 20_000
# Several files under one field name (`<input type="file" name="attachments" multiple>`); the
# parameter is named apart from the `api.attachments` module.
Files = Annotated[list[UploadFile] | None, File(alias="attachments")]


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


async def invitation_page(
    request: Request, db: AsyncSession, principal: Principal, *, template: str, kind: UserKind,
    form: dict, errors: dict, status_code: int = 200,
) -> Response:  # fmt: skip
    """The invitation form (staff in the admin console, colleagues in the portal): the roles of
    that kind, of which only those the inviter holds can be granted."""
    roles = await all_roles(db, kind)
    return render(
        request,
        template,
        {
            "form": form,
            "errors": errors,
            "roles": roles,
            "grantable": {r.id for r in roles if users.grantable(r, principal.permissions)},
            "languages": i18n.NAMES,
        },
        status_code=status_code,
    )


def list_url(path: str, form: dict) -> Callable[..., str]:
    """For list pages: url(page=2) gives this list's address with that change; None or "" drops
    a parameter, a list repeats it (status=open&status=closed)."""
    # Each parameter encoded once: a list page asks for dozens of addresses (one per row to
    # filter by its customer, the sort headers, the pager) that differ in one or two of them.
    encoded = {key: _encoded(key, value) for key, value in form.items()}

    def url(**changes: object) -> str:
        merged = {**encoded, **{key: _encoded(key, value) for key, value in changes.items()}}
        query = "&".join(part for part in merged.values() if part)
        return path + (f"?{query}" if query else "")

    return url


def _encoded(key: str, value: object) -> str:
    items = value if isinstance(value, list) else [value]
    return urlencode([(key, item) for item in items if item not in ("", None)])
