"""Accepting an invitation (/invitation?token=…): the invited person chooses their password.
Public: the single-use link is the credential. Unknown, used and expired links, and links of
someone no longer invited, all get the same answer."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from api import invitations
from api.access import public
from api.identity.accounts import InputError
from api.routes.deps import SessionDep, SettingsDep, actor_of
from web.auth import clear_session_cookie
from web.flash import flash
from web.forms import TEXT_LIMIT, field_errors
from web.templating import render, translate

router = APIRouter(include_in_schema=False)

Token = Annotated[str, Form(max_length=TEXT_LIMIT)]


def _invalid(request: Request) -> Response:
    return render(request, "auth/invitation.html", {"invalid": True}, status_code=400)


@router.get("/invitation", dependencies=[Depends(public)])
async def invitation_form(request: Request, db: SessionDep, token: str = "") -> Response:
    user = await invitations.pending_invitation(db, token[:200])
    if user is None:
        return _invalid(request)
    form = {"full_name": user.full_name}
    return render(
        request,
        "auth/invitation.html",
        {"token": token[:200], "email": user.email, "form": form, "errors": {}},
    )


@router.post("/invitation", dependencies=[Depends(public)])
async def accept_invitation(
    request: Request,
    db: SessionDep,
    settings: SettingsDep,
    token: Token = "",
    full_name: Annotated[str, Form(max_length=TEXT_LIMIT)] = "",
    password: Annotated[str, Form(max_length=TEXT_LIMIT)] = "",
) -> Response:
    try:
        async with db.begin():
            user = await invitations.accept(
                db, settings, token, full_name, password, actor_of(request)
            )
    except InputError as problem:
        invited = await invitations.pending_invitation(db, token)
        if invited is None:
            return _invalid(request)
        context = {
            "token": token,
            "email": invited.email,
            "form": {"full_name": full_name},
            "errors": field_errors(request, problem),
        }
        return render(request, "auth/invitation.html", context, status_code=422)
    if user is None:
        return _invalid(request)
    response = RedirectResponse("/login", status_code=303)
    clear_session_cookie(
        response
    )  # whoever was signed in on this browser, the new account signs in
    flash(
        request,
        response,
        translate(request, "Your account is ready. Sign in with your email and new password."),
        "success",
    )
    return response
