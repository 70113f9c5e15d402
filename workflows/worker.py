"""The worker: every workflow and every activity of CloudManager, on one task queue. The email
relay (activities.email_relay) that sends what the activities queue in the outbox runs in a
process of its own (`cloudmanager relay`, cli.relay); tests run it beside their worker.

Activity classes are built once, with the shared sessionmaker and configuration, so their
connection pools live as long as the worker.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from email.utils import parseaddr
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client
from temporalio.worker import Worker

from activities.email import EmailActivities, SmtpConfig
from activities.email_relay import EmailRelay
from activities.kyc import KycActivities
from activities.kyc_notifications import KycNotificationActivities
from activities.mail_ingest import MailActivities, MailConfig
from activities.ticket_bulk import apply_ticket_bulk_action
from activities.ticket_notifications import TicketNotificationActivities
from activities.tickets import TicketActivities
from api.heap import settle_heap
from api.settings import Settings
from api.support.mailbox_passwords import decrypt_password
from api.temporal import connect_temporal
from db.session import create_engine, create_sessionmaker
from workflows.kyc import KycWorkflow
from workflows.mailbox_poll import MailboxPollWorkflow
from workflows.outbound_email import OutboundEmailWorkflow
from workflows.ticket_bulk import TicketBulkWorkflow
from workflows.tickets import TicketWorkflow

WORKFLOWS: Sequence[type] = (
    OutboundEmailWorkflow,
    TicketWorkflow,
    TicketBulkWorkflow,
    KycWorkflow,
    MailboxPollWorkflow,
)


def smtp_config(settings: Settings) -> SmtpConfig:
    return SmtpConfig(
        host=settings.smtp_host,
        port=settings.smtp_port,
        mail_from=settings.mail_from,
        mail_domain=settings.mail_domain,
        username=settings.smtp_username,
        password=settings.smtp_password.get_secret_value(),
        tls=settings.smtp_tls,
        timeout_seconds=settings.smtp_timeout_seconds,
    )


def mail_config(settings: Settings) -> MailConfig:
    return MailConfig(
        decrypt_password=functools.partial(decrypt_password, settings.secret),
        uploads=settings.uploads_path,
        max_file_bytes=settings.upload_max_bytes,
        max_files=settings.upload_max_files,
        mail_domain=settings.mail_domain,
        mail_from=parseaddr(settings.mail_from)[1],
        default_locale=settings.default_locale,
        base_url=settings.base_url,
    )


def build_activities(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> list[Callable[..., Any]]:
    email = EmailActivities(sessionmaker, smtp_config(settings))
    notifications = TicketNotificationActivities(
        sessionmaker, email, settings.base_url, settings.mail_domain,
        mail_from=parseaddr(settings.mail_from)[1], default_locale=settings.default_locale,
    )  # fmt: skip
    tickets = TicketActivities(sessionmaker, settings.time_zone, notifications)
    kyc = KycActivities(sessionmaker, settings.uploads_path)
    kyc_notifications = KycNotificationActivities(sessionmaker, settings.base_url)
    mail = MailActivities(sessionmaker, mail_config(settings))
    return [
        email.send_email,
        email.record_email_failure,
        tickets.open_ticket,
        tickets.route_ticket,
        tickets.choose_sla_policy,
        tickets.record_ticket_opened,
        tickets.auto_assign,
        tickets.record_ticket_change,
        tickets.move_ticket_records,
        notifications.queue_ticket_notifications,
        notifications.plan_ticket_notifications,
        apply_ticket_bulk_action,
        kyc.record_kyc_change,
        kyc.remove_kyc_files,
        kyc_notifications.plan_kyc_notifications,
        mail.fetch_mail,
        mail.mark_processed,
    ]


def build_worker(
    client: Client,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    task_queue: str | None = None,
    activities: list[Callable[..., Any]] | None = None,
) -> Worker:
    return Worker(
        client,
        task_queue=task_queue or settings.temporal_task_queue,
        workflows=list(WORKFLOWS),
        activities=activities
        if activities is not None
        else build_activities(settings, sessionmaker),
    )


def email_relay(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    heartbeat: Path | None = None,
) -> EmailRelay:
    emails = EmailActivities(sessionmaker, smtp_config(settings))
    return EmailRelay(sessionmaker, emails, heartbeat=heartbeat)


@contextlib.asynccontextmanager
async def running_worker(
    client: Client,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    task_queue: str | None = None,
) -> AsyncIterator[Worker]:
    """The worker polling its task queue, with an email relay that sends what its activities
    queue in the outbox, in this process, until the block ends (for tests and tools; deployed,
    the relay is `cloudmanager relay`)."""
    worker = build_worker(client, settings, sessionmaker, task_queue=task_queue)
    async with email_relay(settings, sessionmaker), worker:
        yield worker


async def run_worker(settings: Settings) -> None:
    # No pre-ping: every activity's session would pay three round trips for it (see create_engine).
    engine = create_engine(settings.sqlalchemy_url, pre_ping=False)
    client = await connect_temporal(settings)
    sessionmaker = create_sessionmaker(engine)
    worker = build_worker(client, settings, sessionmaker)
    logging.getLogger(__name__).info("worker polling task queue %s", settings.temporal_task_queue)
    settle_heap()
    try:
        await worker.run()
    finally:
        await engine.dispose()
