"""Who may call a route: every route declares it (`Depends(public)`,
`Depends(require("tickets.view", area=STAFF))`, …), and the declaration is what enforces it.

`tests/web/test_security_routes.py` walks the route table and fails for any route that declares
no access, so a new page cannot be forgotten open. The principal itself is loaded once per
request by `web.auth.AuthMiddleware` (session cookie) or from a bearer token (API).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import Depends, Request

from db.models import Session, User, UserKind

Area = Literal["customer", "staff"]
CUSTOMER: Area = "customer"
STAFF: Area = "staff"


@dataclass(frozen=True)
class Principal:
    user: User
    session: Session | None  # None for API calls with a bearer token
    permissions: frozenset[str]

    @property
    def user_id(self) -> uuid.UUID:
        return self.user.id

    @property
    def customer_id(self) -> uuid.UUID | None:
        return self.user.customer_id

    @property
    def is_staff(self) -> bool:
        return self.user.kind == UserKind.STAFF

    def can(self, permission: str) -> bool:
        return permission in self.permissions


class SignInRequired(Exception):
    """No (complete) session: pages redirect to the sign-in form, the API answers 401."""


class AccessDenied(Exception):
    """Signed in, but not allowed here: 403."""


class Access:
    """A route's declaration of who may call it; also the dependency that enforces it."""

    def __init__(
        self,
        *,
        public: bool = False,
        area: Area | None = None,
        permission: str | None = None,
        pending_second_factor: bool = False,
    ) -> None:
        self.public = public
        self.area = area
        self.permission = permission
        self.pending_second_factor = pending_second_factor

    def __repr__(self) -> str:
        if self.public:
            return "Access(public)"
        return f"Access(area={self.area}, permission={self.permission})"

    async def __call__(self, request: Request) -> Principal | None:
        principal: Principal | None = request.state.principal
        if self.public:
            return principal
        if self.pending_second_factor:
            if request.state.pending is None:
                raise SignInRequired
            return None
        if principal is None:
            raise SignInRequired
        if self.area == STAFF and not principal.is_staff:
            raise AccessDenied
        if self.area == CUSTOMER and principal.is_staff:
            raise AccessDenied
        if self.permission and not principal.can(self.permission):
            raise AccessDenied
        return principal


public = Access(public=True)
second_factor_pending = Access(pending_second_factor=True)


def signed_in(area: Area | None = None) -> Access:
    return Access(area=area)


def require(permission: str, *, area: Area | None = None) -> Access:
    return Access(area=area, permission=permission)


CurrentPrincipal = Annotated[Principal, Depends(signed_in())]
