"""A help desk for ticket workflow tests: a customer, a round-the-clock calendar, a group of the
given agents (round robin), a category routed to that group and an SLA policy for it.

RECONSTRUCTED: the original of this file was overwritten by mistake by the ticket-queues helper;
this version is rebuilt from its use in tests/workflows/test_tickets.py. Its author should check
it against what they wrote.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from db.models import (
    BusinessCalendar,
    Customer,
    CustomerKind,
    CustomerStatus,
    SlaPolicy,
    SupportGroup,
    SupportGroupMember,
    TicketCategory,
)
from workflows.ticket_messages import Author, OpenTicket


@dataclass
class Desk:
    customer_id: str
    group_id: str
    category_id: str
    policy_id: str

    def open_request(
        self, requester: Author, subject: str = "Le serveur ne répond plus", **options
    ) -> OpenTicket:
        """A new ticket of the desk's customer in the desk's category (a fresh ticket id)."""
        return OpenTicket(
            ticket_id=str(uuid.uuid4()),
            subject=subject,
            body=options.pop("body", "Depuis ce matin, plus rien."),
            customer_id=self.customer_id,
            requester=requester,
            channel=options.pop("channel", "portal"),
            category_id=options.pop("category_id", self.category_id),
            **options,
        )


async def make_desk(
    sessionmaker,
    *,
    agent_ids: list[str] = (),  # type: ignore[assignment]
    first_response_minutes: int | None = 60,
    next_response_minutes: int | None = 240,
    resolution_minutes: int | None = 24 * 60,
    warning_minutes: int = 30,
) -> Desk:
    unique = uuid.uuid4().hex[:10]
    async with sessionmaker() as db, db.begin():
        customer = Customer(
            kind=CustomerKind.COMPANY, name=f"Desk {unique} SARL", status=CustomerStatus.ACTIVE
        )
        calendar = BusinessCalendar(
            name=f"Always {unique}", time_zone="Africa/Algiers",
            working_days=list(range(7)), hours=[["00:00", "00:00"]],
        )  # fmt: skip
        group = SupportGroup(name=f"Desk {unique}", assignment_mode="round_robin")
        db.add_all([customer, calendar, group])
        await db.flush()
        for agent_id in agent_ids:
            db.add(SupportGroupMember(group_id=group.id, user_id=uuid.UUID(agent_id)))
        category = TicketCategory(name=f"Desk {unique}", group_id=group.id)
        db.add(category)
        await db.flush()
        # First by position among the policies, and only for this desk's category.
        policy = SlaPolicy(
            name=f"Desk {unique}", position=-1_000_000, match_category_id=category.id,
            calendar_id=calendar.id, first_response_minutes=first_response_minutes,
            next_response_minutes=next_response_minutes, resolution_minutes=resolution_minutes,
            warning_minutes=warning_minutes,
        )  # fmt: skip
        db.add(policy)
    return Desk(str(customer.id), str(group.id), str(category.id), str(policy.id))
