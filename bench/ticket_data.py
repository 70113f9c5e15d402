"""The data `python -m bench.tickets` works on: the product's starting configuration (roles,
Algerian calendar, default group, SLA policies by priority), a customer with an API token, agents
in the default group (one of them signed in, for the queue page), and a million tickets written
straight into the projection with one `generate_series` INSERT (no workflows: they stand for
years of closed history, plus a share of open tickets spread over the agents)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.identity import api_tokens, roles, sessions
from api.identity.roles import ensure_builtin_roles
from api.settings import Settings
from api.support import ensure_support_defaults
from db.models import (
    Customer,
    CustomerKind,
    CustomerStatus,
    SupportGroup,
    SupportGroupMember,
    User,
    UserKind,
)

AGENTS = 20
SIGNED_IN = 10  # the queue page's concurrent users, one agent each
CUSTOMERS = 200
# One ticket in OPEN_EVERY is still open (the rest are closed history), as on a real desk.
OPEN_EVERY = 50


@dataclass(frozen=True)
class Desk:
    customer_id: uuid.UUID
    # A group with no members and manual assignment: tickets opened there for the footprint
    # phase arm their SLA timers but assign nobody and email nobody.
    quiet_group_id: uuid.UUID
    api_token: str  # a customer's personal token: tickets.create, tickets.view
    agent_ids: list[uuid.UUID]


async def prepare_desk(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings) -> Desk:
    async with sessionmaker() as db, db.begin():
        await ensure_builtin_roles(db)
        await ensure_support_defaults(db)
        customer = Customer(
            kind=CustomerKind.COMPANY, name="Bench SARL", status=CustomerStatus.ACTIVE
        )
        db.add(customer)
        await db.flush()
        owner = await _user(db, "owner@bench.invalid", UserKind.CUSTOMER, "customer_owner",
                            customer_id=customer.id)  # fmt: skip
        token, _ = await api_tokens.create_personal_token(
            db, owner, "bench", frozenset({"tickets.create", "tickets.view"}), None
        )
        group = await db.scalar(select(SupportGroup).where(SupportGroup.is_default))
        quiet = SupportGroup(name="Bench quiet group", assignment_mode="manual")
        db.add(quiet)
        agents = []
        for index in range(AGENTS):
            agent = await _user(db, f"agent{index}@bench.invalid", UserKind.STAFF, "agent")
            db.add(SupportGroupMember(group_id=group.id, user_id=agent.id))
            agents.append(agent)
    return Desk(customer.id, quiet.id, token, [a.id for a in agents])


async def sign_in_agents(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, desk: Desk
) -> list[tuple[uuid.UUID, str]]:
    """Sessions for the queue page's agents, opened just before it is timed (a session idle for
    half an hour has expired): (user id, session cookie value)."""
    signed_in = []
    async with sessionmaker() as db, db.begin():
        for agent_id in desk.agent_ids[:SIGNED_IN]:
            agent = await db.get(User, agent_id)
            cookie, _ = await sessions.open_session(
                db, agent, settings.session_policy, pending_second_factor=False, ip=None,
                user_agent="bench.tickets",
            )  # fmt: skip
            signed_in.append((agent_id, cookie))
    return signed_in


async def _user(
    db: AsyncSession, email: str, kind: UserKind, role: str, customer_id: uuid.UUID | None = None
) -> User:
    now = await db.scalar(select(func.now()))
    user = User(
        email=email, full_name=email.split("@")[0].title(), kind=kind, customer_id=customer_id,
        locale="fr", email_verified_at=now,
    )  # fmt: skip
    db.add(user)
    await db.flush()
    await roles.assign_roles(db, user.id, [(await roles.role_by_key(db, role)).id])
    return user


INSERT_CUSTOMERS = text(
    """
    INSERT INTO customers (id, kind, name, status, created_at)
    SELECT gen_random_uuid(), 'company', 'Client ' || n || ' SARL', 'active', now()
    FROM generate_series(1, :count) AS n
    """
)
# Statuses, priorities, agents and customers cycle through the rows; one in OPEN_EVERY is open
# with SLA deadlines ahead (some at risk), the rest closed over the last two years. Agents go
# round by n / OPEN_EVERY, so that the open tickets (the rows n % OPEN_EVERY = 0) are spread over
# every agent: by n % AGENTS they all fell to two agents (OPEN_EVERY and AGENTS share a factor of
# 10), and nine of the ten signed-in agents had an empty queue.
INSERT_TICKETS = text(
    """
    WITH customer_ids AS (SELECT array_agg(id) AS ids FROM customers)
    INSERT INTO tickets (
        id, number, subject, customer_id, channel, priority, status, group_id, assignee_id,
        tags, sla_state, first_response_due, resolution_due, sla_paused, escalation_level,
        message_count, projection_seq, created_at, updated_at, resolved_at, closed_at)
    SELECT
        gen_random_uuid(),
        'TCK-BENCH-' || lpad(n::text, 7, '0'),
        'Ticket de charge ' || n,
        ids[1 + n % array_length(ids, 1)],
        (ARRAY['portal', 'email', 'api', 'staff'])[1 + n % 4],
        (ARRAY['low', 'medium', 'high', 'urgent'])[1 + n % 4],
        CASE WHEN n % :open_every = 0
             THEN (ARRAY['open', 'in_progress', 'answered', 'waiting_on_customer'])
                  [1 + n / :open_every % 4]
             ELSE 'closed' END,
        :group_id,
        (:agent_ids ::uuid[])[1 + n / :open_every % :agents],
        CASE WHEN n % 3 = 0 THEN ARRAY['vps'] ELSE '{}' END,
        CASE WHEN n % :open_every = 0 AND n % 7 = 0 THEN 'at_risk' ELSE 'ok' END,
        CASE WHEN n % :open_every = 0 THEN now() + (n % 600) * interval '1 minute' END,
        CASE WHEN n % :open_every = 0 THEN now() + (n % 6000) * interval '1 minute' END,
        false, 0, 1 + n % 5, 1,
        created, created + interval '2 hours', created + interval '1 day',
        CASE WHEN n % :open_every = 0 THEN NULL ELSE created + interval '8 days' END
    FROM generate_series(1, :count) AS n,
         customer_ids,
         LATERAL (SELECT now() - (n * interval '63 seconds') AS created) AS stamp
    """
)


async def insert_history(
    sessionmaker: async_sessionmaker[AsyncSession], desk: Desk, count: int
) -> None:
    """`count` tickets in one statement, then fresh planner statistics."""
    async with sessionmaker() as db, db.begin():
        await db.execute(INSERT_CUSTOMERS, {"count": CUSTOMERS})
        group_id = await db.scalar(select(SupportGroup.id).where(SupportGroup.is_default))
        await db.execute(
            INSERT_TICKETS,
            {
                "count": count, "open_every": OPEN_EVERY, "group_id": group_id,
                "agent_ids": desk.agent_ids, "agents": len(desk.agent_ids),
            },
        )  # fmt: skip
    async with sessionmaker() as db, db.begin():
        await db.execute(text("ANALYZE customers, tickets"))
