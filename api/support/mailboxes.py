"""Mailboxes: the IMAP folders customers' mail arrives in. Each has its own Temporal Schedule
(`mailbox-{id}`) that starts a `MailboxPollWorkflow` every N seconds with overlap SKIP, created,
updated, paused and deleted with the mailbox; the password is stored encrypted."""

from __future__ import annotations

import contextlib
import re
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleState,
    ScheduleUpdate,
)
from temporalio.service import RPCError, RPCStatusCode

from api import audit
from api.audit import Actor
from api.settings import Settings
from api.support.common import (
    NotFound,
    check_id,
    check_int,
    check_name,
    name_taken,
    raise_if,
    record_changes,
)
from api.support.mailbox_passwords import encrypt_password
from db.models import Mailbox, SupportGroup
from db.models.mail import PROCESSED_ACTIONS, TLS_MODES, UNKNOWN_SENDER_POLICIES
from i18n import N_
from workflows.mail_messages import PollMailbox
from workflows.mailbox_poll import MailboxPollWorkflow, poll_workflow_id, schedule_id

MIN_INTERVAL, MAX_INTERVAL = 15, 24 * 3600
_ADDRESS = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_HOST = re.compile(r"[A-Za-z0-9.-]{1,255}")


@dataclass
class MailboxForm:
    name: str
    address: str
    host: str
    port: str
    tls_mode: str
    username: str
    password: str
    folder: str = "INBOX"
    group_id: str = ""
    unknown_sender_policy: str = "queue"
    processed_action: str = "flag"
    processed_folder: str = ""
    poll_interval_seconds: str = "60"
    active: bool = True


def snapshot(mailbox: Mailbox) -> dict:
    """What the audit trail records: everything but the password."""
    return {
        "name": mailbox.name, "address": mailbox.address, "host": mailbox.host,
        "port": mailbox.port, "tls_mode": mailbox.tls_mode, "username": mailbox.username,
        "folder": mailbox.folder, "group_id": str(mailbox.group_id or ""),
        "unknown_sender_policy": mailbox.unknown_sender_policy,
        "processed_action": mailbox.processed_action,
        "processed_folder": mailbox.processed_folder,
        "poll_interval_seconds": mailbox.poll_interval_seconds, "active": mailbox.active,
    }  # fmt: skip


async def find_mailbox(db: AsyncSession, mailbox_id: uuid.UUID, *, for_update=False) -> Mailbox:
    query = select(Mailbox).where(Mailbox.id == mailbox_id)
    mailbox = await db.scalar(query.with_for_update() if for_update else query)
    if mailbox is None:
        raise NotFound(mailbox_id)
    return mailbox


def _choice(raw: str, field: str, allowed: tuple[str, ...], errors: dict) -> str:
    if raw not in allowed:
        errors[field] = (N_("Choose from the list."), {})
    return raw


async def _check(db: AsyncSession, form: MailboxForm, current: Mailbox | None, secret: str) -> dict:
    errors: dict = {}
    name = check_name(form.name, "name", errors)
    if "name" not in errors and await name_taken(db, Mailbox, name, current and current.id):
        errors["name"] = (N_("Another mailbox already has this name."), {})
    address = form.address.strip().lower()
    if not _ADDRESS.fullmatch(address) or len(address) > 320:
        errors["address"] = (N_("Enter an email address."), {})
    host = form.host.strip()
    if not _HOST.fullmatch(host):
        errors["host"] = (N_("Enter a host name or an IP address."), {})
    port = check_int(form.port, "port", errors, minimum=1, maximum=65535)
    username = check_name(form.username, "username", errors, limit=320)
    password = form.password
    if current is None and not password:
        errors["password"] = (N_("This field is required."), {})
    folder = check_name(form.folder or "INBOX", "folder", errors, limit=200)
    groups = set(await db.scalars(select(SupportGroup.id)))
    group_id = check_id(form.group_id, "group_id", errors, groups)
    action = _choice(form.processed_action, "processed_action", PROCESSED_ACTIONS, errors)
    destination = check_name(
        form.processed_folder, "processed_folder", errors, limit=200, required=action == "move"
    )
    interval = check_int(
        form.poll_interval_seconds, "poll_interval_seconds", errors,
        minimum=MIN_INTERVAL, maximum=MAX_INTERVAL,
    )  # fmt: skip
    values = {
        "name": name, "address": address, "host": host, "port": port,
        "tls_mode": _choice(form.tls_mode, "tls_mode", TLS_MODES, errors),
        "username": username, "folder": folder, "group_id": group_id,
        "unknown_sender_policy": _choice(
            form.unknown_sender_policy, "unknown_sender_policy", UNKNOWN_SENDER_POLICIES, errors
        ),
        "processed_action": action, "processed_folder": destination,
        "poll_interval_seconds": interval, "active": form.active,
    }  # fmt: skip
    raise_if(errors)
    if password:
        values["password_encrypted"] = encrypt_password(secret, password)
    return values


async def create_mailbox(db: AsyncSession, actor: Actor, form: MailboxForm, secret: str) -> Mailbox:
    mailbox = Mailbox(**await _check(db, form, None, secret))
    db.add(mailbox)
    await db.flush()
    audit.record(
        db, actor, "mailbox.created", target_type="mailbox", target_id=mailbox.id,
        after=snapshot(mailbox),
    )  # fmt: skip
    return mailbox


async def update_mailbox(
    db: AsyncSession, actor: Actor, mailbox_id: uuid.UUID, form: MailboxForm, secret: str
) -> Mailbox:
    mailbox = await find_mailbox(db, mailbox_id, for_update=True)
    values = await _check(db, form, mailbox, secret)
    before = snapshot(mailbox)
    changed_password = "password_encrypted" in values
    for key, value in values.items():
        setattr(mailbox, key, value)
    after = snapshot(mailbox)
    if changed_password:
        after = {**after, "password": "changed"}
    record_changes(db, actor, "mailbox.updated", "mailbox", mailbox.id, before, after)
    return mailbox


async def delete_mailbox(db: AsyncSession, actor: Actor, mailbox_id: uuid.UUID) -> None:
    """The mail it brought in stays (its tickets do); only the polling stops."""
    mailbox = await find_mailbox(db, mailbox_id, for_update=True)
    before = snapshot(mailbox)
    await db.delete(mailbox)
    await db.flush()
    audit.record(
        db, actor, "mailbox.deleted", target_type="mailbox", target_id=mailbox_id, before=before
    )


# ---------------------------------------------------------------- the schedule


def _schedule(settings: Settings, mailbox: Mailbox) -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(
            MailboxPollWorkflow.run,
            PollMailbox(str(mailbox.id)),
            id=poll_workflow_id(str(mailbox.id)),
            task_queue=settings.temporal_task_queue,
        ),
        spec=ScheduleSpec(
            intervals=[ScheduleIntervalSpec(every=timedelta(seconds=mailbox.poll_interval_seconds))]
        ),
        # A poll still running when the next is due: the next is skipped, never doubled.
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
        state=ScheduleState(paused=not mailbox.active, note=f"Mailbox {mailbox.name}"),
    )


async def sync_schedule(client: Client, settings: Settings, mailbox: Mailbox) -> None:
    """Create the mailbox's schedule, or bring it in line with the mailbox (interval, paused)."""
    schedule = _schedule(settings, mailbox)
    try:
        await client.create_schedule(schedule_id(str(mailbox.id)), schedule)
    except ScheduleAlreadyRunningError:
        handle = client.get_schedule_handle(schedule_id(str(mailbox.id)))
        await handle.update(lambda _: ScheduleUpdate(schedule=schedule))


async def delete_schedule(client: Client, mailbox_id: uuid.UUID) -> None:
    handle = client.get_schedule_handle(schedule_id(str(mailbox_id)))
    try:
        await handle.delete()
    except RPCError as error:
        if error.status != RPCStatusCode.NOT_FOUND:
            raise


async def poll_now(client: Client, mailbox_id: uuid.UUID) -> None:
    """Start a poll now (skipped if one is running)."""
    handle = client.get_schedule_handle(schedule_id(str(mailbox_id)))
    with contextlib.suppress(RPCError):
        await handle.trigger(overlap=ScheduleOverlapPolicy.SKIP)
