"""Who hears about a ticket event, and what they read: turns a `NotificationRequest` into the
emails the workflow then sends (each through the outbox, keyed per recipient).

Customers never receive internal notes, not even quoted: their conversation excerpt is built from
public messages only, and staff-only kinds are sent to staff accounts only, whatever ids the
request carries.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from db.models import (
    Customer,
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
from workflows.ticket_messages import NotificationRequest, Notifications
from workflows.ticket_rules import STATUS_LABELS
from workflows.tickets import PLAN_TICKET_NOTIFICATIONS

TEMPLATE = "ticket_notification"
CUSTOMER_KINDS = frozenset({"opened", "agent_replied", "status_changed", "waiting_reminder"})
# Messages quoted under the new one in a customer's email, newest first.
CONVERSATION_EXCERPT = 5


class TicketNotificationActivities:
    def __init__(
        self, sessionmaker: async_sessionmaker[AsyncSession], base_url: str, mail_domain: str
    ) -> None:
        self._sessionmaker = sessionmaker
        self._base_url = base_url
        self._mail_domain = mail_domain

    @activity.defn(name=PLAN_TICKET_NOTIFICATIONS)
    async def plan_ticket_notifications(self, request: NotificationRequest) -> Notifications:
        async with self._sessionmaker() as db:
            ticket = await db.get(Ticket, uuid.UUID(request.ticket_id))
            if ticket is None:
                return Notifications()
            recipients = await self._recipients(db, ticket, request)
            if not recipients:
                return Notifications()
            customer = await db.get(Customer, ticket.customer_id)
            actor = await db.get(User, uuid.UUID(request.actor_id)) if request.actor_id else None
            message = (
                await db.get(TicketMessage, uuid.UUID(request.message_id))
                if request.message_id
                else None
            )
            conversation = await _public_conversation(db, ticket.id)
            emails = []
            for user in recipients:
                for_customer = user.kind == UserKind.CUSTOMER
                if for_customer and message is not None and message.internal:
                    continue  # never, whatever asked for it
                emails.append(
                    SendEmail(
                        idempotency_key=f"{request.key}:{user.id}",
                        to=user.email,
                        template=TEMPLATE,
                        context={
                            "kind": request.kind,
                            "name": user.full_name,
                            "number": ticket.number,
                            "subject": ticket.subject,
                            "customer": customer.name if customer else "",
                            "status_label": STATUS_LABELS[ticket.status],
                            "priority": ticket.priority,
                            "actor": actor.full_name if actor else "",
                            "body": message.body if message else "",
                            "conversation": conversation if for_customer else [],
                            "url": self._ticket_url(ticket.id, for_customer),
                            **request.data,
                        },
                        locale=user.locale,
                        subject_type="ticket",
                        subject_id=str(ticket.id),
                        headers=self._threading(ticket),
                        automatic=request.kind != "agent_replied",
                    )
                )
            return Notifications(emails)

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

    def _threading(self, ticket: Ticket) -> dict[str, str]:
        # Every email about a ticket refers to the same root id, so mail clients thread them.
        root = f"<ticket.{ticket.id}@{self._mail_domain}>"
        return {"In-Reply-To": root, "References": root}


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
