"""Ticket activities: the only code that writes tickets, their messages, attachments, watchers and
timeline. Each runs in one transaction and is idempotent: ids come from the workflow, inserts are
`ON CONFLICT DO NOTHING`, and the projection is written only when the workflow's `seq` is newer
than the one on the row."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.ticket_notifications import TicketNotificationActivities
from db.models import (
    BusinessCalendar,
    CalendarHoliday,
    Customer,
    SlaEscalationLevel,
    SlaPolicy,
    SupportGroup,
    SupportGroupMember,
    Ticket,
    TicketAttachment,
    TicketCategory,
    TicketEvent,
    TicketMessage,
    TicketWatcher,
    User,
    UserKind,
    UserStatus,
)
from workflows.ticket_messages import (
    SYSTEM,
    Assignment,
    AutoAssign,
    CalendarSnapshot,
    EscalationStep,
    EventRecord,
    GroupAutomation,
    MessageRecord,
    MovedRecords,
    MoveRecords,
    NewTicket,
    NewTicketRecord,
    OpenedTicket,
    OpenTicket,
    PolicyChoice,
    PolicyQuery,
    Routing,
    RoutingQuery,
    SlaPolicySnapshot,
    TicketChange,
    TicketOpened,
)
from workflows.tickets import (
    AUTO_ASSIGN,
    CHOOSE_SLA_POLICY,
    INVALID_REFERENCE,
    MOVE_TICKET_RECORDS,
    OPEN_TICKET,
    RECORD_TICKET_CHANGE,
    RECORD_TICKET_OPENED,
    ROUTE_TICKET,
)

OPEN_STATUSES = ("open", "in_progress", "answered", "waiting_on_customer", "on_hold")
# Only so much of one message goes into the search index (PostgreSQL caps a tsvector at 1 MB).
SEARCHABLE_CHARACTERS = 20_000
BUMP_TICKET_COUNTER = text(
    "INSERT INTO ticket_number_counters (year, last_value) VALUES (:year, 1) "
    "ON CONFLICT (year) DO UPDATE SET last_value = ticket_number_counters.last_value + 1 "
    "RETURNING last_value"
)
# COALESCE needs a tsvector on both sides: a ticket indexed before has terms, a new one NULL.
NO_TERMS = text("''::tsvector")
# Holidays copied into a workflow's policy snapshot: enough for any realistic ticket.
HOLIDAY_HORIZON = timedelta(days=2 * 366)


def search_terms(text: str):
    """French and English stems, so "serveurs" finds "serveur" and "invoices" finds "invoice"."""
    searchable = text[:SEARCHABLE_CHARACTERS]
    return func.to_tsvector("french", searchable).op("||")(func.to_tsvector("english", searchable))


def _uuid(value: str | None) -> uuid.UUID | None:
    return uuid.UUID(value) if value else None


@contextlib.contextmanager
def _refusing_bad_data() -> Iterator[None]:
    """A write the database refuses for its data (a reference to a group that does not exist, a
    value too long) would fail the same way on every retry, with the ticket's lock held: fail it
    once, non-retryable; the workflow puts its state back and refuses the change."""
    try:
        yield
    except (IntegrityError, DataError) as refused:
        raise ApplicationError(
            str(refused.orig), type=INVALID_REFERENCE, non_retryable=True
        ) from refused


class TicketActivities:
    def __init__(
        self, sessionmaker: async_sessionmaker[AsyncSession], time_zone: str,
        notifications: TicketNotificationActivities,
    ) -> None:  # fmt: skip
        self._sessionmaker = sessionmaker
        # Ticket numbers count per calendar year where the provider is, not per UTC year.
        self._zone = ZoneInfo(time_zone)
        self._notifications = notifications

    # ------------------------------------------------------------------ routing and policy

    @activity.defn(name=ROUTE_TICKET)
    async def route_ticket(self, query: RoutingQuery) -> Routing:
        async with self._sessionmaker() as db:
            return await _route(db, query)

    @activity.defn(name=CHOOSE_SLA_POLICY)
    async def choose_sla_policy(self, query: PolicyQuery) -> PolicyChoice:
        async with self._sessionmaker() as db:
            return PolicyChoice(await self._choose_policy(db, query))

    async def _choose_policy(
        self, db: AsyncSession, query: PolicyQuery
    ) -> SlaPolicySnapshot | None:
        """The first active policy, by position, whose conditions all hold; a policy naming a
        category also covers its sub-categories."""
        segment = await db.scalar(
            select(Customer.segment).where(Customer.id == uuid.UUID(query.customer_id))
        )
        categories = (
            await _category_and_ancestors(db, uuid.UUID(query.category_id))
            if query.category_id
            else set()
        )
        policies = await db.scalars(
            select(SlaPolicy).where(SlaPolicy.active).order_by(SlaPolicy.position, SlaPolicy.name)
        )
        for policy in policies:
            if policy.match_priorities and query.priority not in policy.match_priorities:
                continue
            if policy.match_category_id and policy.match_category_id not in categories:
                continue
            if policy.match_segment and policy.match_segment != segment:
                continue
            return await self._snapshot(db, policy)
        return None

    async def _snapshot(self, db: AsyncSession, policy: SlaPolicy) -> SlaPolicySnapshot:
        calendar = await db.get(BusinessCalendar, policy.calendar_id)
        today = datetime.now(UTC).date()
        holidays = await db.scalars(
            select(CalendarHoliday.day).where(
                CalendarHoliday.calendar_id == calendar.id,
                CalendarHoliday.day >= today - timedelta(days=31),
                CalendarHoliday.day <= today + HOLIDAY_HORIZON,
            )
        )
        steps = await db.scalars(
            select(SlaEscalationLevel)
            .where(SlaEscalationLevel.policy_id == policy.id)
            .order_by(SlaEscalationLevel.level)
        )
        return SlaPolicySnapshot(
            policy_id=str(policy.id),
            name=policy.name,
            calendar=CalendarSnapshot(
                time_zone=calendar.time_zone,
                working_days=sorted(calendar.working_days),
                hours=[(start, end) for start, end in calendar.hours],
                holidays=sorted(holidays),
            ),
            first_response_minutes=policy.first_response_minutes,
            next_response_minutes=policy.next_response_minutes,
            resolution_minutes=policy.resolution_minutes,
            warning_minutes=policy.warning_minutes,
            escalation=[
                EscalationStep(
                    level=step.level,
                    after_minutes=step.after_minutes,
                    notify_lead=step.notify_lead,
                    notify_admins=step.notify_admins,
                    raise_priority=step.raise_priority,
                    reassign_group_id=str(step.reassign_group_id)
                    if step.reassign_group_id
                    else None,
                )
                for step in steps
            ],
        )

    # ------------------------------------------------------------------ writing tickets

    @activity.defn(name=RECORD_TICKET_OPENED)
    async def record_ticket_opened(self, record: NewTicketRecord) -> TicketOpened:
        with _refusing_bad_data():
            return await self._record_ticket_opened(record)

    async def _record_ticket_opened(self, record: NewTicketRecord) -> TicketOpened:
        async with self._sessionmaker() as db, db.begin():
            existing = await db.scalar(
                select(Ticket.number).where(Ticket.id == uuid.UUID(record.request.ticket_id))
            )
            if existing is not None:
                return TicketOpened(existing)
            number = await self._insert_opening(
                db, record.request, record.opened_at, record.event_id,
                group_id=_uuid(record.group_id), sla_policy_id=_uuid(record.sla_policy_id),
                assignee_id=_uuid(record.request.assignee_id),
            )  # fmt: skip
            return TicketOpened(number)

    @activity.defn(name=OPEN_TICKET)
    async def open_ticket(self, opening: NewTicket) -> OpenedTicket:
        with _refusing_bad_data():
            return await self._open_ticket(opening)

    async def _open_ticket(self, opening: NewTicket) -> OpenedTicket:
        """Routing, the SLA policy, the number, the records and the automatic assignment, in one
        transaction (one local activity: the caller waiting for the number waits for one round
        trip to the database's worth of Python, not five). A retry after the commit finds the
        ticket and answers what it holds."""
        request = opening.request
        ticket_id = uuid.UUID(request.ticket_id)
        policy_query = PolicyQuery(request.customer_id, request.priority, request.category_id)
        async with self._sessionmaker() as db, db.begin():
            existing = await db.get(Ticket, ticket_id)
            if existing is not None:
                routing = await _route(db, RoutingQuery(None, _text(existing.group_id)))
                return OpenedTicket(
                    existing.number, Routing(_text(existing.group_id), routing.automation),
                    await self._choose_policy(db, policy_query), _text(existing.assignee_id),
                )  # fmt: skip
            routing = await _route(db, RoutingQuery(request.category_id, request.group_id))
            policy = await self._choose_policy(db, policy_query)
            assignee_id = _uuid(request.assignee_id)
            assignment = None
            if assignee_id is None and routing.group_id is not None:
                assignment = await _choose_assignee(db, uuid.UUID(routing.group_id))
                assignee_id = assignment.agent_id if assignment else None
            number = await self._insert_opening(
                db, request, opening.opened_at, opening.event_id,
                group_id=_uuid(routing.group_id), sla_policy_id=_uuid(policy and policy.policy_id),
                assignee_id=assignee_id,
            )  # fmt: skip
            if assignment is not None:
                event = assignment.event(opening.assignment_event_id)
                await _add_events(db, ticket_id, [event], opening.opened_at)
            return OpenedTicket(number, routing, policy, _text(assignee_id))

    async def _insert_opening(
        self, db: AsyncSession, request: OpenTicket, opened_at: datetime, event_id: str, *,
        group_id: uuid.UUID | None, sla_policy_id: uuid.UUID | None,
        assignee_id: uuid.UUID | None,
    ) -> str:  # fmt: skip
        """The ticket under its new number, its first message, its opening event and its first
        watcher; the number is returned."""
        ticket_id = uuid.UUID(request.ticket_id)
        # Gapless: the counter row stays locked until this transaction commits with the
        # ticket; if anything fails, the number goes back with the rollback.
        year = opened_at.astimezone(self._zone).year
        sequence = await db.scalar(BUMP_TICKET_COUNTER, {"year": year})
        number = f"TCK-{year}-{sequence:06d}"
        requester = request.requester
        db.add(
            Ticket(
                id=ticket_id,
                number=number,
                subject=request.subject,
                customer_id=uuid.UUID(request.customer_id),
                requester_id=_uuid(requester.user_id) if requester.kind == "customer" else None,
                channel=request.channel,
                category_id=_uuid(request.category_id),
                priority=request.priority,
                status="open",
                group_id=group_id,
                assignee_id=assignee_id,
                tags=sorted(set(request.tags)),
                linked_kind=request.linked_kind,
                linked_reference=request.linked_reference,
                sla_policy_id=sla_policy_id,
                sla_state="ok",
                follow_up_of_id=_uuid(request.follow_up_of),
                last_customer_message_at=opened_at if requester.kind == "customer" else None,
                message_count=1,
                search_vector=search_terms(f"{request.subject}\n{request.body}"),
                projection_seq=1,
                created_at=opened_at,
                updated_at=opened_at,
            )
        )
        await db.flush()
        await _add_message(
            db,
            ticket_id,
            MessageRecord(
                request.ticket_id, requester, request.body, False, request.channel,
                request.attachments,
            ),
            opened_at,
        )  # fmt: skip
        data = {"number": number, "channel": request.channel}
        await _add_events(
            db, ticket_id, [EventRecord(event_id, "opened", requester, data)], opened_at
        )
        if request.follow_up_of:
            # The earlier ticket's timeline says where the conversation went on; its id is
            # derived from the opening event's, so a retry adds it once.
            follow_up = EventRecord(
                str(uuid.uuid5(uuid.UUID(event_id), "follow-up")), "followed_up",
                requester, {"ticket_id": request.ticket_id, "number": number},
            )  # fmt: skip
            await _add_events(db, uuid.UUID(request.follow_up_of), [follow_up], opened_at)
        if requester.user_id:
            await _add_watchers(db, ticket_id, [requester.user_id])
        return number

    @activity.defn(name=AUTO_ASSIGN)
    async def auto_assign(self, request: AutoAssign) -> Assignment:
        """The ticket row is locked, so a retry finds the first attempt's choice."""
        ticket_id = uuid.UUID(request.ticket_id)
        async with self._sessionmaker() as db, db.begin():
            ticket = await db.scalar(select(Ticket).where(Ticket.id == ticket_id).with_for_update())
            if ticket.assignee_id is not None:
                return Assignment(str(ticket.assignee_id))
            assignment = await _choose_assignee(db, uuid.UUID(request.group_id))
            if assignment is None:
                return Assignment(None)
            await db.execute(
                update(Ticket)
                .where(Ticket.id == ticket_id, Ticket.projection_seq < request.seq)
                .values(assignee_id=assignment.agent_id, projection_seq=request.seq)
            )
            await _add_events(db, ticket_id, [assignment.event(request.event_id)], request.at)
            return Assignment(str(assignment.agent_id))

    @activity.defn(name=RECORD_TICKET_CHANGE)
    async def record_ticket_change(self, change: TicketChange) -> None:
        with _refusing_bad_data():
            await self._write_change(change)
        # After the commit: planning reads what was just written (and may commit on its own).
        # A retry writes nothing twice and queues nothing twice (keys).
        await self._notifications.queue(change.notices)

    async def _write_change(self, change: TicketChange) -> None:
        ticket_id = uuid.UUID(change.ticket_id)
        async with self._sessionmaker() as db, db.begin():
            values = asdict(change.projection)
            seq = values.pop("seq")
            for key in (
                "category_id",
                "group_id",
                "assignee_id",
                "sla_policy_id",
                "merged_into_id",
                "customer_id",
                "requester_id",
            ):
                values[key] = _uuid(values[key])
            if (
                change.message is not None
                and await _add_message(db, ticket_id, change.message, change.at)
                and not change.message.internal
            ):
                values["search_vector"] = func.coalesce(Ticket.search_vector, NO_TERMS).op("||")(
                    search_terms(change.message.body)
                )
            await _add_events(db, ticket_id, change.events, change.at)
            await _add_watchers(db, ticket_id, change.add_watcher_ids)
            if change.remove_watcher_ids:
                await db.execute(
                    TicketWatcher.__table__.delete().where(
                        TicketWatcher.ticket_id == ticket_id,
                        TicketWatcher.user_id.in_(
                            [uuid.UUID(i) for i in change.remove_watcher_ids]
                        ),
                    )
                )
            await db.execute(
                update(Ticket)
                .where(Ticket.id == ticket_id, Ticket.projection_seq < seq)
                .values(projection_seq=seq, **values)
            )

    @activity.defn(name=MOVE_TICKET_RECORDS)
    async def move_ticket_records(self, move: MoveRecords) -> MovedRecords:
        """Merging: the conversation and the files move to the surviving ticket; watchers are
        copied. Moving twice moves nothing more."""
        source, target = uuid.UUID(move.from_ticket_id), uuid.UUID(move.into_ticket_id)
        async with self._sessionmaker() as db, db.begin():
            await db.execute(
                update(TicketMessage)
                .where(TicketMessage.ticket_id == source)
                .values(ticket_id=target)
            )
            await db.execute(
                update(TicketAttachment)
                .where(TicketAttachment.ticket_id == source)
                .values(ticket_id=target)
            )
            watcher_ids = [
                str(i)
                for i in await db.scalars(
                    select(TicketWatcher.user_id).where(TicketWatcher.ticket_id == source)
                )
            ]
            await _add_watchers(db, target, watcher_ids)
            source_terms = select(Ticket.search_vector).where(Ticket.id == source).scalar_subquery()
            await db.execute(
                update(Ticket)
                .where(Ticket.id == target)
                .values(
                    search_vector=func.coalesce(Ticket.search_vector, NO_TERMS).op("||")(
                        func.coalesce(source_terms, NO_TERMS)
                    )
                )
            )
            return MovedRecords(watcher_ids)


async def _add_message(
    db: AsyncSession, ticket_id: uuid.UUID, message: MessageRecord, at: datetime
) -> bool:
    """Insert the message and its attachments; False when it was already there (a retry)."""
    message_id = uuid.UUID(message.message_id)
    inserted = await db.execute(
        insert(TicketMessage)
        .values(
            id=message_id,
            ticket_id=ticket_id,
            author_id=_uuid(message.author.user_id),
            author_name=message.author.name,
            author_kind=message.author.kind,
            internal=message.internal,
            body=message.body,
            channel=message.channel,
            created_at=at,
        )
        .on_conflict_do_nothing(index_elements=["id"])
    )
    if not inserted.rowcount:
        owner = await db.scalar(
            select(TicketMessage.ticket_id).where(TicketMessage.id == message_id)
        )
        if owner != ticket_id:
            # Another ticket's message id: a retry it is not, and dropping it would lose the
            # message while the workflow counts it. Refused; the workflow rolls the change back.
            raise ApplicationError(
                "message id belongs to another ticket", type=INVALID_REFERENCE, non_retryable=True
            )
        return False
    if message.attachments:
        await db.execute(
            insert(TicketAttachment)
            .values(
                [
                    {
                        "id": uuid.UUID(file.id),
                        "ticket_id": ticket_id,
                        "message_id": message_id,
                        "sha256": file.sha256,
                        "filename": file.filename,
                        "content_type": file.content_type,
                        "size": file.size,
                    }
                    for file in message.attachments
                ]
            )
            .on_conflict_do_nothing(index_elements=["id"])
        )
    return True


async def _add_events(
    db: AsyncSession, ticket_id: uuid.UUID, events: list[EventRecord], at: datetime
) -> None:
    if not events:
        return
    # The rows as parameters, not in the statement: a multi-row VALUES is compiled anew each
    # time (SQLAlchemy cannot cache it), an executemany of one cached statement is not.
    await db.execute(
        insert(TicketEvent).on_conflict_do_nothing(index_elements=["id"]),
        [
            {
                "id": uuid.UUID(event.event_id),
                "ticket_id": ticket_id,
                "kind": event.kind,
                "actor_id": _uuid(event.actor.user_id),
                "actor_name": event.actor.name,
                "data": event.data,
                "created_at": at,
            }
            for event in events
        ],
    )


async def _add_watchers(db: AsyncSession, ticket_id: uuid.UUID, user_ids: list[str]) -> None:
    if not user_ids:
        return
    await db.execute(
        insert(TicketWatcher).on_conflict_do_nothing(),
        [{"ticket_id": ticket_id, "user_id": uuid.UUID(i)} for i in user_ids],
    )


def _text(value: uuid.UUID | None) -> str | None:
    return str(value) if value else None


async def _route(db: AsyncSession, query: RoutingQuery) -> Routing:
    """The group a ticket goes to: the one asked for, else its category's, else the default."""
    group_id = _uuid(query.group_id)
    if group_id is None and query.category_id:
        group_id = await _category_group(db, uuid.UUID(query.category_id))
    group = await db.get(SupportGroup, group_id) if group_id else None
    if group is None or not group.active:
        group = await db.scalar(
            select(SupportGroup).where(SupportGroup.is_default, SupportGroup.active)
        )
    if group is None:
        return Routing(None, GroupAutomation())
    return Routing(
        str(group.id),
        GroupAutomation(
            close_resolved_after_days=group.close_resolved_after_days,
            remind_waiting_after_days=group.remind_waiting_after_days,
            close_waiting_after_days=group.close_waiting_after_days,
            reopen_window_days=group.reopen_window_days,
        ),
    )


@dataclass(frozen=True)
class ChosenAgent:
    agent_id: uuid.UUID
    name: str
    mode: str

    def event(self, event_id: str) -> EventRecord:
        data = {"assignee_id": str(self.agent_id), "assignee": self.name, "mode": self.mode}
        return EventRecord(event_id, "auto_assigned", SYSTEM, data)  # type: ignore[arg-type]


async def _choose_assignee(db: AsyncSession, group_id: uuid.UUID) -> ChosenAgent | None:
    """Round-robin or least open tickets among the group's active members who are not away;
    None when the group assigns by hand or nobody is available. The group's row is locked
    until the caller's transaction ends, so two tickets never take the same turn."""
    group = await db.scalar(
        select(SupportGroup).where(SupportGroup.id == group_id).with_for_update()
    )
    if group is None or group.assignment_mode == "manual":
        return None
    candidates = await _available_members(db, group.id)
    if not candidates:
        return None
    if group.assignment_mode == "least_open":
        chosen = await _least_loaded(db, candidates)
    else:
        chosen = _after(candidates, group.last_assigned_id)
    group.last_assigned_id = chosen
    agent = await db.get(User, chosen)
    return ChosenAgent(chosen, agent.full_name, group.assignment_mode)


async def _category_group(db: AsyncSession, category_id: uuid.UUID) -> uuid.UUID | None:
    """The routing group of the category, or of its nearest ancestor that has one."""
    seen: set[uuid.UUID] = set()
    current: uuid.UUID | None = category_id
    while current is not None and current not in seen:
        seen.add(current)
        category = await db.get(TicketCategory, current)
        if category is None:
            return None
        if category.group_id is not None:
            return category.group_id
        current = category.parent_id
    return None


async def _category_and_ancestors(db: AsyncSession, category_id: uuid.UUID) -> set[uuid.UUID]:
    found: set[uuid.UUID] = set()
    current: uuid.UUID | None = category_id
    while current is not None and current not in found:
        found.add(current)
        current = await db.scalar(
            select(TicketCategory.parent_id).where(TicketCategory.id == current)
        )
    return found


async def _available_members(db: AsyncSession, group_id: uuid.UUID) -> list[uuid.UUID]:
    """Active staff members of the group who are not away, in a stable order."""
    rows = await db.scalars(
        select(User.id)
        .join(SupportGroupMember, SupportGroupMember.user_id == User.id)
        .where(
            SupportGroupMember.group_id == group_id,
            User.kind == UserKind.STAFF,
            User.status == UserStatus.ACTIVE,
            User.away.is_(False),
        )
        .order_by(User.id)
    )
    return list(rows)


def _after(candidates: list[uuid.UUID], last: uuid.UUID | None) -> uuid.UUID:
    """Round-robin: the member after the last one served (the first when unknown or gone)."""
    if last in candidates:
        return candidates[(candidates.index(last) + 1) % len(candidates)]
    later = [c for c in candidates if last is not None and c > last]
    return later[0] if later else candidates[0]


async def _least_loaded(db: AsyncSession, candidates: list[uuid.UUID]) -> uuid.UUID:
    counts = dict(
        (
            await db.execute(
                select(Ticket.assignee_id, func.count())
                .where(Ticket.assignee_id.in_(candidates), Ticket.status.in_(OPEN_STATUSES))
                .group_by(Ticket.assignee_id)
            )
        ).all()
    )
    return min(candidates, key=lambda member: (counts.get(member, 0), member))
