"""What the admin console's Support pages share: who may see and change them, the form field
types, and the answers they give (404 for a record that is not there, redirect with a flash)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from api.access import STAFF, Principal, require
from api.support.common import NotFound
from db.models import SupportGroup, TicketCategory, User
from web.flash import Category, flash
from web.forms import TEXT_LIMIT
from web.templating import translate

Viewer = Annotated[Principal, Depends(require("settings.view", area=STAFF))]
Editor = Annotated[Principal, Depends(require("settings.edit", area=STAFF))]
Text = Annotated[str, Form(max_length=TEXT_LIMIT)]
Flag = Annotated[str, Form(max_length=10)]  # a checkbox: "on" when ticked, absent otherwise
Choices = Annotated[list[str] | None, Form(max_length=50)]

WEEKDAYS = (0, 1, 2, 3, 4, 5, 6)  # date.weekday(): Monday 0 … Sunday 6


@contextmanager
def missing_is_404() -> Iterator[None]:
    try:
        yield
    except NotFound as missing:
        raise HTTPException(status_code=404) from missing


def back_to(request: Request, url: str, message: str, category: Category = "success") -> Response:
    """POST-redirect-GET with a flash message."""
    response = RedirectResponse(url, status_code=303)
    flash(request, response, message, category)
    return response


def group_options(request: Request, groups: Iterable[SupportGroup]) -> list[tuple[str, str]]:
    """(id, name) for a list of groups; inactive ones say so."""
    return [
        (
            str(group.id),
            group.name
            if group.active
            else translate(request, "%(name)s (inactive)", name=group.name),
        )
        for group in groups
    ]


def category_options(tree: Iterable[tuple[TicketCategory, int]]) -> list[tuple[str, str]]:
    """(id, name) in tree order, sub-categories indented with dashes (a <select> has no other
    way to show depth)."""
    return [(str(category.id), "— " * depth + category.name) for category, depth in tree]


def person_options(people: Iterable[User]) -> list[tuple[str, str]]:
    """(id, "Name (email)"): two colleagues may share a name."""
    return [(str(person.id), f"{person.full_name} ({person.email})") for person in people]
