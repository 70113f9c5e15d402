"""Helpdesk set-ups for workflow tests: a customer segment with its own SLA policy, calendar and
group, so a test controls which targets apply without touching other tests' tickets."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from db.models import (
    BusinessCalendar,
    CalendarHoliday,
    Customer,
    CustomerKind,
    CustomerStatus,
    SlaEscalationLevel,
    SlaPolicy,
    SupportGroup,
    SupportGroupMember,
)
from workflows.ticket_messages import Author, OpenTicket


@dataclass
class Desk:
    customer_id: str
    segment: str
    group_id: str
    policy_id: str
    agent_ids: list[str] = field(default_factory=list)
    calendar_id: str = ""

    def open_request(self, requester: Author, **fields) -> OpenTicket:
        values = {
            "ticket_id": str(uuid.uuid4()),
            "subject": "Serveur inaccessible",
            "body": "Notre VPS ne répond plus depuis ce matin.",
            "customer_id": self.customer_id,
            "requester": requester,
            "channel": "portal",
            "group_id": self.group_id,
        }
        values.update(fields)
        return OpenTicket(**values)


async def make_desk(
    sessionmaker,
    *,
    first_response: int | None = 240,
    next_response: int | None = 480,
    resolution: int | None = 2400,
    warning: int = 30,
    hours: list[list[str]] | None = None,
    working_days: list[int] | None = None,
    holidays=(),
    escalation=(),
    agent_ids=(),
    assignment_mode: str = "round_robin",
    automation: dict | None = None,
    customer_id: uuid.UUID | None = None,
    lead_id: uuid.UUID | None = None,
) -> Desk:
    """A group (with `agent_ids` as members), a calendar (Sun–Thu 08:00–16:30 Africa/Algiers by
    default) and a policy matched only by a fresh customer segment, plus a customer in it (or
    `customer_id`, moved into the segment)."""
    tag = uuid.uuid4().hex[:10]
    async with sessionmaker() as db, db.begin():
        calendar = BusinessCalendar(
            name=f"Test calendar {tag}",
            time_zone="Africa/Algiers",
            working_days=working_days if working_days is not None else [6, 0, 1, 2, 3],
            hours=hours or [["08:00", "16:30"]],
        )
        group = SupportGroup(
            name=f"Test group {tag}",
            assignment_mode=assignment_mode,
            lead_id=lead_id,
            **(automation or {}),
        )
        db.add_all([calendar, group])
        await db.flush()
        for day in holidays:
            db.add(CalendarHoliday(calendar_id=calendar.id, day=day, name="Holiday"))
        policy = SlaPolicy(
            name=f"Test policy {tag}",
            position=-1,
            match_segment=f"segment-{tag}",
            calendar_id=calendar.id,
            first_response_minutes=first_response,
            next_response_minutes=next_response,
            resolution_minutes=resolution,
            warning_minutes=warning,
        )
        db.add(policy)
        await db.flush()
        for step in escalation:
            db.add(SlaEscalationLevel(policy_id=policy.id, **step))
        for agent_id in agent_ids:
            db.add(SupportGroupMember(group_id=group.id, user_id=uuid.UUID(agent_id)))
        if customer_id is None:
            customer = Customer(
                kind=CustomerKind.COMPANY, name=f"Desk {tag} SARL", status=CustomerStatus.ACTIVE,
                segment=f"segment-{tag}",
            )  # fmt: skip
            db.add(customer)
            await db.flush()
            customer_id = customer.id
        else:
            customer = await db.get(Customer, customer_id)
            customer.segment = f"segment-{tag}"
    return Desk(
        str(customer_id), f"segment-{tag}", str(group.id), str(policy.id), list(agent_ids),
        str(calendar.id),
    )  # fmt: skip


async def add_policy(sessionmaker, desk: Desk, *, priorities: list[str], **targets) -> str:
    """Another policy of the desk's segment, tried before its first one, for `priorities`;
    `targets` are SlaPolicy columns (first_response_minutes=…)."""
    async with sessionmaker() as db, db.begin():
        policy = SlaPolicy(
            name=f"Test policy {uuid.uuid4().hex[:10]}", position=-2, match_segment=desk.segment,
            match_priorities=priorities, calendar_id=uuid.UUID(desk.calendar_id),
            warning_minutes=targets.pop("warning_minutes", 30), **targets,
        )  # fmt: skip
        db.add(policy)
    return str(policy.id)


async def make_group(sessionmaker, **fields) -> str:
    async with sessionmaker() as db, db.begin():
        group = SupportGroup(name=f"Test group {uuid.uuid4().hex[:10]}", **fields)
        db.add(group)
    return str(group.id)
