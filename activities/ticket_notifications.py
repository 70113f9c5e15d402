"""Who hears about a ticket event, and what they read: turns a `NotificationRequest` into its
emails, keyed per recipient, and queues them in the outbox for the email relay (histories from
before the relay planned here and sent each through a `send_email` activity).

Customers never receive internal notes, not even quoted: their conversation excerpt is built from
public messages only, and staff-only kinds are sent to staff accounts only, whatever ids the
request carries.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from activities.email import EmailActivities
from activities.mail_answers import acknowledgement, may_answer, sender_of
from activities.mail_routing import undeliverable
from activities.mail_threading import ticket_message_id, ticket_root_id
from db.models import (
    Customer,
    GroupMailSettings,
    InboundMessage,
    Role,
    SupportGroup,
    SupportGroupMember,
    Ticket,
    TicketMessage,
    TicketWatcher,
    User,
    UserKind,
    UserRole,
    UserStatus,
)
from workflows.outbound_email import SendEmail
from workflows.ticket_messages import NotificationBatch, NotificationRequest, Notifications
from workflows.ticket_rules import STATUS_LABELS
from workflows.tickets import PLAN_TICKET_NOTIFICATIONS, QUEUE_TICKET_NOTIFICATIONS

TEMPLATE = "ticket_notification"
CUSTOMER_KINDS = frozenset({"opened", "agent_replied", "status_changed", "waiting_reminder"})
# Messages quoted under the new one in a customer's email, newest first.
CONVERSATION_EXCERPT = 5


class _SharedReads:
    """What the notifications of one change read once between them: the public conversation,
    and the rows `db.get` finds again in the session only while something holds them (the
    session's identity map keeps its objects by weak reference)."""

    def __init__(self) -> None:
        self.conversations: dict[uuid.UUID, list[dict[str, str]]] = {}
        self._held: list[object] = []

    def hold(self, *rows: object) -> None:
        self._held.extend(row for row in rows if row is not None)


class TicketNotificationActivities:
    def __init__(
        self, sessionmaker: async_sessionmaker[AsyncSession], emails: EmailActivities,
        base_url: str, mail_domain: str, mail_from: str = "", default_locale: str = "fr",
    ) -> None:  # fmt: skip
        self._sessionmaker = sessionmaker
        self._emails = emails
        self._base_url = base_url
        self._mail_domain = mail_domain
        self._mail_from = mail_from
        self._default_locale = default_locale

    @activity.defn(name=QUEUE_TICKET_NOTIFICATIONS)
    async def queue_ticket_notifications(self, batch: NotificationBatch) -> None:
        await self.queue(batch.requests)

    async def queue(self, requests: list[NotificationRequest]) -> None:
        """Plan each notification and queue its emails in the outbox for the email relay, in
        one session (a change's notifications read the same ticket, customer and conversation
        once), all or none; again after a retry, nothing more (rows are keyed per recipient)."""
        if not requests:
            return
        async with self._sessionmaker() as db:
            shared = _SharedReads()
            emails = [
                email for request in requests
                for email in (await self._plan(db, request, shared)).emails
            ]  # fmt: skip
            await self._emails.queue(db, emails, for_relay=True)
            await db.commit()

    @activity.defn(name=PLAN_TICKET_NOTIFICATIONS)
    async def plan_ticket_notifications(self, request: NotificationRequest) -> Notifications:
        """Histories from before the email relay plan each notification here, then send it."""
        async with self._sessionmaker() as db:
            return await self._plan(db, request, _SharedReads())

    async def _plan(
        self, db: AsyncSession, request: NotificationRequest,
        shared_reads: _SharedReads,
    ) -> Notifications:  # fmt: skip
        ticket = await db.get(Ticket, uuid.UUID(request.ticket_id))
        if ticket is None:
            return Notifications()
        if request.kind == "opened" and ticket.channel == "email":
            return await self._acknowledge(db, ticket, request)
        recipients = await self._recipients(db, ticket, request)
        # Mail from someone who is not (yet) a user is answered where it came from.
        sender = await sender_of(db, str(ticket.id)) if _to_sender(ticket, request) else None
        if not recipients and sender is None:
            return Notifications()
        customer = await db.get(Customer, ticket.customer_id)
        actor = await db.get(User, uuid.UUID(request.actor_id)) if request.actor_id else None
        message = (
            await db.get(TicketMessage, uuid.UUID(request.message_id))
            if request.message_id
            else None
        )
        shared_reads.hold(ticket, customer, actor, *recipients)
        if ticket.id not in shared_reads.conversations:
            shared_reads.conversations[ticket.id] = await _public_conversation(db, ticket.id)
        conversation = shared_reads.conversations[ticket.id]
        addresses = [u.email for u in recipients] + ([sender.from_address] if sender else [])
        bouncing = await undeliverable(db, addresses)
        shared = {
            "kind": request.kind,
            "number": ticket.number,
            "subject": ticket.subject,
            "customer": customer.name if customer else "",
            "status_label": STATUS_LABELS[ticket.status],
            "priority": ticket.priority,
            "actor": actor.full_name if actor else "",
            "body": message.body if message else "",
            **request.data,
        }
        # (key, address, name, locale, for a customer)
        targets = [
            (f"{request.key}:{user.id}", user.email, user.full_name, user.locale,
             user.kind == UserKind.CUSTOMER)
            for user in recipients
        ]  # fmt: skip
        if sender is not None:
            targets.append(
                (f"{request.key}:sender", sender.from_address,
                 sender.from_name or sender.from_address, self._default_locale, True)
            )  # fmt: skip
        emails = []
        for key, address, name, locale, for_customer in targets:
            if for_customer and message is not None and message.internal:
                continue  # never, whatever asked for it
            if address.lower() in bouncing:
                continue  # a permanent bounce came back for it: an agent must look
            emails.append(
                SendEmail(
                    idempotency_key=key,
                    to=address,
                    template=TEMPLATE,
                    context={
                        **shared,
                        "name": name,
                        "conversation": conversation if for_customer else [],
                        "url": self._ticket_url(ticket.id, for_customer)
                        if for_customer is False or ticket.requester_id
                        else "",
                    },
                    locale=locale,
                    subject_type="ticket",
                    subject_id=str(ticket.id),
                    headers=await self._threading(db, ticket),
                    automatic=request.kind != "agent_replied",
                    message_id=ticket_message_id(ticket.id, key, self._mail_domain),
                    related_id=request.message_id or "",
                )
            )
        return Notifications(emails)

    async def _acknowledge(
        self, db: AsyncSession, ticket: Ticket, request: NotificationRequest
    ) -> Notifications:
        """A new ticket opened by mail: at most one acknowledgement per sender per 24 hours,
        never to an automatic mail, a bounce or our own addresses (see `mail_answers`)."""
        inbound = await sender_of(db, str(ticket.id))
        if inbound is None:
            return Notifications()
        group = await db.get(GroupMailSettings, ticket.group_id) if ticket.group_id else None
        if group is not None and not group.acknowledge:
            return Notifications()
        key = f"{request.key}:ack"
        allowed = await may_answer(db, inbound, key, self._mail_from)
        await db.commit()
        if not allowed:
            return Notifications()
        requester = await db.get(User, ticket.requester_id) if ticket.requester_id else None
        email = acknowledgement(
            inbound, key=key, ticket_id=str(ticket.id), number=ticket.number,
            subject=ticket.subject, group_text=group.acknowledgement_text if group else "",
            locale=requester.locale if requester else self._default_locale,
            url=self._ticket_url(ticket.id, True) if requester else "",
            domain=self._mail_domain,
        )  # fmt: skip
        return Notifications([email])

    async def _recipients(
        self, db: AsyncSession, ticket: Ticket, request: NotificationRequest
    ) -> list[User]:
        ids: set[uuid.UUID] = {uuid.UUID(i) for i in request.recipient_ids}
        kind = request.kind
        if kind in CUSTOMER_KINDS:
            if ticket.requester_id:
                ids.add(ticket.requester_id)
            if kind == "agent_replied":
                ids |= set(await _watchers(db, ticket.id))
        elif kind == "customer_replied":
            if ticket.assignee_id:
                ids.add(ticket.assignee_id)
            elif ticket.group_id:
                ids |= set(
                    await db.scalars(
                        select(SupportGroupMember.user_id).where(
                            SupportGroupMember.group_id == ticket.group_id
                        )
                    )
                )
            ids |= set(await _watchers(db, ticket.id))
        if request.notify_lead and ticket.group_id:
            group = await db.get(SupportGroup, ticket.group_id)
            if group and group.lead_id:
                ids.add(group.lead_id)
        if request.notify_admins:
            ids |= set(
                await db.scalars(
                    select(UserRole.user_id)
                    .join(Role, Role.id == UserRole.role_id)
                    .where(Role.key == "admin")
                )
            )
        if request.actor_id and kind != "opened":
            # Nobody is told what they did themselves, except the acknowledgement of a new
            # ticket, whose point is to tell its author it arrived (and its number).
            ids.discard(uuid.UUID(request.actor_id))
        if not ids:
            return []
        users = await db.scalars(
            select(User).where(User.id.in_(ids), User.status == UserStatus.ACTIVE).order_by(User.id)
        )
        wanted_kind = UserKind.CUSTOMER if kind in CUSTOMER_KINDS else None
        return [
            user
            for user in users
            # Customer-facing kinds may reach staff watchers too; staff-only kinds reach staff
            # only, and a customer is told only about their own company's ticket.
            if (user.kind == UserKind.STAFF)
            or (wanted_kind is not None and user.customer_id == ticket.customer_id)
        ]

    def _ticket_url(self, ticket_id: uuid.UUID, for_customer: bool) -> str:
        area = "portal" if for_customer else "staff"
        return f"{self._base_url}/{area}/tickets/{ticket_id}"

    async def _threading(self, db: AsyncSession, ticket: Ticket) -> dict[str, str]:
        """Every email about a ticket refers to the same root id, so mail clients thread them,
        and to the mail that opened it, if one did; Outlook's autoresponders are told not to
        answer."""
        references = [ticket_root_id(ticket.id, self._mail_domain)]
        if ticket.channel == "email":
            opening = await db.get(InboundMessage, ticket.id)
            if opening is not None:
                references.append(opening.message_id)
        return {
            "In-Reply-To": references[-1],
            "References": " ".join(references),
            "X-Auto-Response-Suppress": "All",
        }


def _to_sender(ticket: Ticket, request: NotificationRequest) -> bool:
    return (
        ticket.channel == "email"
        and ticket.requester_id is None
        and request.kind in CUSTOMER_KINDS
        and request.kind != "opened"
    )


async def _watchers(db: AsyncSession, ticket_id: uuid.UUID) -> list[uuid.UUID]:
    return list(
        await db.scalars(select(TicketWatcher.user_id).where(TicketWatcher.ticket_id == ticket_id))
    )


async def _public_conversation(db: AsyncSession, ticket_id: uuid.UUID) -> list[dict[str, str]]:
    rows = await db.scalars(
        select(TicketMessage)
        .where(TicketMessage.ticket_id == ticket_id, TicketMessage.internal.is_(False))
        .order_by(TicketMessage.created_at.desc())
        .limit(CONVERSATION_EXCERPT)
    )
    return [
        {"author": row.author_name, "at": row.created_at.isoformat(), "body": row.body}
        for row in rows
    ]
