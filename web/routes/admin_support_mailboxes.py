"""Admin console, Support › mailboxes (/admin/support/mailboxes): the IMAP mailboxes polled for
customers' mail, each with its connection state (last success, last error), and the senders'
blocklist. Saving a mailbox creates or updates its Temporal Schedule."""

from __future__ import annotations

import contextlib
import uuid

from fastapi import APIRouter, Request
from starlette.responses import Response
from temporalio.service import RPCError

from api.identity.accounts import InputError
from api.routes.deps import SessionDep, SettingsDep, TemporalDep, actor_of
from api.support import mail_blocklist, mailboxes
from db.models import Mailbox
from db.queries.mail import mailbox_rows
from db.queries.support import all_groups
from web.forms import field_errors, id_or_404
from web.support_pages import Editor, Flag, Text, Viewer, back_to, group_options, missing_is_404
from web.templating import render, translate

router = APIRouter(prefix="/mailboxes")
LIST = "/admin/support/mailboxes"
FIELDS = (
    "name", "address", "host", "port", "tls_mode", "username", "folder", "group_id",
    "unknown_sender_policy", "processed_action", "processed_folder", "poll_interval_seconds",
)  # fmt: skip


@router.get("")
async def mailboxes_list(request: Request, principal: Viewer, db: SessionDep) -> Response:
    return render(
        request,
        "admin/support/mailboxes/index.html",
        {"principal": principal, "rows": await mailbox_rows(db)},
    )


async def _page(
    request: Request, db, principal, *, mailbox: Mailbox | None, form: dict,
    errors: dict | None = None, status_code: int = 200,
) -> Response:  # fmt: skip
    return render(
        request,
        "admin/support/mailboxes/form.html",
        {
            "principal": principal, "mailbox": mailbox, "form": form, "errors": errors or {},
            "groups": group_options(request, await all_groups(db)),
        },
        status_code=status_code,
    )  # fmt: skip


def _form_of(mailbox: Mailbox) -> dict:
    values = {name: getattr(mailbox, name) for name in FIELDS}
    values["group_id"] = str(mailbox.group_id or "")
    return {**values, "active": mailbox.active}


def _submitted(values: dict, active: str) -> mailboxes.MailboxForm:
    return mailboxes.MailboxForm(**values, active=bool(active))


@router.get("/new")
async def new_mailbox(request: Request, principal: Editor, db: SessionDep) -> Response:
    form = {**{name: "" for name in FIELDS}, "port": 993, "tls_mode": "tls", "folder": "INBOX",
            "unknown_sender_policy": "queue", "processed_action": "flag",
            "poll_interval_seconds": 60, "active": True}  # fmt: skip
    return await _page(request, db, principal, mailbox=None, form=form)


async def _schedule(request: Request, client, settings, mailbox: Mailbox) -> str:
    """The flash message: saved, or saved but the schedule could not be set (Temporal down)."""
    try:
        await mailboxes.sync_schedule(client, settings, mailbox)
    except RPCError:
        return translate(request, "Saved, but polling could not be scheduled; save again later.")
    return translate(request, "Changes saved.")


@router.post("/new")
async def create_mailbox(
    request: Request, principal: Editor, db: SessionDep, settings: SettingsDep,
    client: TemporalDep, name: Text = "", address: Text = "", host: Text = "", port: Text = "",
    tls_mode: Text = "", username: Text = "", password: Text = "", folder: Text = "",
    group_id: Text = "", unknown_sender_policy: Text = "", processed_action: Text = "",
    processed_folder: Text = "", poll_interval_seconds: Text = "", active: Flag = "",
) -> Response:  # fmt: skip
    values = dict(
        name=name, address=address, host=host, port=port, tls_mode=tls_mode, username=username,
        folder=folder, group_id=group_id, unknown_sender_policy=unknown_sender_policy,
        processed_action=processed_action, processed_folder=processed_folder,
        poll_interval_seconds=poll_interval_seconds,
    )  # fmt: skip
    try:
        async with db.begin():
            mailbox = await mailboxes.create_mailbox(
                db, actor_of(request), _submitted({**values, "password": password}, active),
                settings.secret,
            )  # fmt: skip
    except InputError as problem:
        return await _page(
            request, db, principal, mailbox=None, form={**values, "active": bool(active)},
            errors=field_errors(request, problem), status_code=422,
        )  # fmt: skip
    message = await _schedule(request, client, settings, mailbox)
    return back_to(request, f"{LIST}/{mailbox.id}", message)


async def _find(db, mailbox_id: uuid.UUID) -> Mailbox:
    with missing_is_404():
        return await mailboxes.find_mailbox(db, mailbox_id)


@router.get("/blocklist")
async def blocklist_page(request: Request, principal: Viewer, db: SessionDep) -> Response:
    entries = await mail_blocklist.blocklist(db)
    return _blocklist(request, principal, "\n".join(entries))


def _blocklist(request, principal, text: str, errors=None, status_code=200) -> Response:
    return render(
        request,
        "admin/support/mailboxes/blocklist.html",
        {"principal": principal, "entries": text, "errors": errors or {}},
        status_code=status_code,
    )


@router.post("/blocklist")
async def save_blocklist(
    request: Request, principal: Editor, db: SessionDep, entries: Text = ""
) -> Response:
    try:
        async with db.begin():
            await mail_blocklist.save_blocklist(db, actor_of(request), entries)
    except InputError as problem:
        return _blocklist(request, principal, entries, field_errors(request, problem), 422)
    return back_to(request, f"{LIST}/blocklist", translate(request, "Changes saved."))


@router.get("/{mailbox_id}")
async def mailbox_page(request: Request, mailbox_id: str, principal: Viewer, db: SessionDep):
    mailbox = await _find(db, id_or_404(mailbox_id))
    return await _page(request, db, principal, mailbox=mailbox, form=_form_of(mailbox))


@router.post("/{mailbox_id}")
async def update_mailbox(
    request: Request, mailbox_id: str, principal: Editor, db: SessionDep,
    settings: SettingsDep, client: TemporalDep, name: Text = "", address: Text = "",
    host: Text = "", port: Text = "", tls_mode: Text = "", username: Text = "",
    password: Text = "", folder: Text = "", group_id: Text = "",
    unknown_sender_policy: Text = "", processed_action: Text = "", processed_folder: Text = "",
    poll_interval_seconds: Text = "", active: Flag = "",
) -> Response:  # fmt: skip
    target = id_or_404(mailbox_id)
    values = dict(
        name=name, address=address, host=host, port=port, tls_mode=tls_mode, username=username,
        folder=folder, group_id=group_id, unknown_sender_policy=unknown_sender_policy,
        processed_action=processed_action, processed_folder=processed_folder,
        poll_interval_seconds=poll_interval_seconds,
    )  # fmt: skip
    try:
        with missing_is_404():
            async with db.begin():
                mailbox = await mailboxes.update_mailbox(
                    db, actor_of(request), target,
                    _submitted({**values, "password": password}, active), settings.secret,
                )  # fmt: skip
    except InputError as problem:
        return await _page(
            request, db, principal, mailbox=await _find(db, target),
            form={**values, "active": bool(active)}, errors=field_errors(request, problem),
            status_code=422,
        )  # fmt: skip
    message = await _schedule(request, client, settings, mailbox)
    return back_to(request, f"{LIST}/{target}", message)


@router.post("/{mailbox_id}/poll")
async def poll_mailbox(request: Request, mailbox_id: str, principal: Editor, db: SessionDep,
                       client: TemporalDep) -> Response:  # fmt: skip
    mailbox = await _find(db, id_or_404(mailbox_id))
    await mailboxes.poll_now(client, mailbox.id)
    return back_to(request, f"{LIST}/{mailbox.id}", translate(request, "Polling started."))


@router.post("/{mailbox_id}/delete")
async def delete_mailbox(
    request: Request, mailbox_id: str, principal: Editor, db: SessionDep, client: TemporalDep
) -> Response:
    target = id_or_404(mailbox_id)
    with missing_is_404():
        async with db.begin():
            await mailboxes.delete_mailbox(db, actor_of(request), target)
    # Temporal unreachable: a poll then finds no mailbox and stops at once.
    with contextlib.suppress(RPCError):
        await mailboxes.delete_schedule(client, target)
    return back_to(request, LIST, translate(request, "Mailbox deleted."))
