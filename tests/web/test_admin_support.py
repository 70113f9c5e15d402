"""Admin console, Support, over real HTTP against the real database: categories, groups and
their members, calendars and holidays, SLA policies and escalation levels, canned replies; the
defaults every installation starts with; agents' availability; who may see all this.

The database is shared by the whole session: every record here has a unique name, and the
default group and calendar are changed only inside transactions that are rolled back.
"""

from __future__ import annotations

import html
import re
import uuid
from datetime import date

import pytest
from sqlalchemy import func, select

from api.audit import SYSTEM
from api.demo_data import DEMO_LOGINS, seed_demo_data
from api.identity.accounts import InputError
from api.support import calendars as calendar_service
from api.support import ensure_support_defaults
from api.support import groups as group_service
from api.support.defaults import CALENDAR_NAME, GROUP_NAME
from db.models import (
    BusinessCalendar,
    CalendarHoliday,
    CannedReply,
    Customer,
    CustomerKind,
    CustomerStatus,
    SlaEscalationLevel,
    SlaPolicy,
    SupportGroup,
    Ticket,
    TicketCategory,
    User,
)
from tests.support.admin import audit_events, form_token

EN = {"Accept-Language": "en"}


async def _post(client, path: str, data: dict | None = None, page: str = "/admin/support"):
    token = await form_token(client, page)
    return await client.post(path, data={**(data or {}), "csrf_token": token}, headers=EN)


def _created_id(answer) -> uuid.UUID:
    assert answer.status_code == 303, answer.text[:800]
    return uuid.UUID(answer.headers["location"].split("?")[0].split("#")[0].rsplit("/", 1)[1])


def _kept(page: str, name: str, field_id: str = "") -> str:
    """The value an <input name=…> (or id=…) was re-rendered with."""
    attribute = f'id="{field_id}"' if field_id else f'name="{name}"'
    found = re.search(rf'<input[^>]*{attribute}[^>]*value="([^"]*)"', page)
    assert found, f"no input {field_id or name}"
    return html.unescape(found.group(1))


async def _get(sessionmaker, model, record_id):
    async with sessionmaker() as db:
        return await db.get(model, record_id)


async def _count(sessionmaker, model, *conditions) -> int:
    async with sessionmaker() as db:
        return await db.scalar(select(func.count()).select_from(model).where(*conditions))


async def _category(client, sessionmaker, **form) -> uuid.UUID:
    """Created through the form (which goes back to the list); its id, found by name."""
    answer = await _post(client, "/admin/support/categories/new", form)
    assert answer.status_code == 303 and answer.headers["location"] == "/admin/support/categories"
    async with sessionmaker() as db:
        return await db.scalar(select(TicketCategory.id).where(TicketCategory.name == form["name"]))


async def _default_calendar(sessionmaker) -> BusinessCalendar:
    async with sessionmaker() as db:
        return await db.scalar(select(BusinessCalendar).where(BusinessCalendar.is_default))


async def _ticket(sessionmaker, **links) -> None:
    """A ticket row (as the activities write it) that refers to `links`."""
    async with sessionmaker() as db, db.begin():
        customer = Customer(
            kind=CustomerKind.COMPANY, name=f"Client {uuid.uuid4().hex[:6]}",
            status=CustomerStatus.ACTIVE,
        )  # fmt: skip
        db.add(customer)
        await db.flush()
        db.add(
            Ticket(
                id=uuid.uuid4(),
                number=f"TST-{uuid.uuid4().hex[:16]}",
                subject="Test",
                customer_id=customer.id,
                channel="staff",
                priority="medium",
                status="open",
                **links,
            )
        )


# -- defaults ------------------------------------------------------------------------------------


async def test_every_installation_starts_with_the_support_defaults(sessionmaker):
    calendar = await _default_calendar(sessionmaker)
    assert calendar.name == CALENDAR_NAME and calendar.time_zone == "Africa/Algiers"
    assert sorted(calendar.working_days) == [0, 1, 2, 3, 6]  # Sunday to Thursday
    assert calendar.hours == [["08:00", "16:30"]]
    async with sessionmaker() as db:
        holidays = list(
            await db.scalars(
                select(CalendarHoliday).where(CalendarHoliday.calendar_id == calendar.id)
            )
        )
        this_year = date.today().year
        assert {h.day.year for h in holidays} == {this_year, this_year + 1}
        assert date(this_year, 11, 1) in {h.day for h in holidays}  # Fête de la Révolution
        assert any(h.estimated for h in holidays) and not all(h.estimated for h in holidays)

        group = await db.scalar(select(SupportGroup).where(SupportGroup.is_default))
        assert group.name == GROUP_NAME and group.assignment_mode == "round_robin"
        technique = await db.scalar(
            select(TicketCategory).where(
                TicketCategory.name == "Technique", TicketCategory.parent_id.is_(None)
            )
        )
        children = set(
            await db.scalars(
                select(TicketCategory.name).where(TicketCategory.parent_id == technique.id)
            )
        )
        assert children == {"Serveurs et VPS", "Réseau et DNS", "Messagerie"}
        urgent = await db.scalar(select(SlaPolicy).where(SlaPolicy.name == "Priorité urgente"))
        assert urgent.match_priorities == ["urgent"] and urgent.calendar_id == calendar.id
        assert (urgent.first_response_minutes, urgent.next_response_minutes) == (60, 120)
        assert (urgent.resolution_minutes, urgent.warning_minutes) == (480, 15)
        levels = list(
            await db.scalars(
                select(SlaEscalationLevel)
                .where(SlaEscalationLevel.policy_id == urgent.id)
                .order_by(SlaEscalationLevel.level)
            )
        )
        assert [(lv.level, lv.after_minutes) for lv in levels] == [(1, 0), (2, 120)]
        assert levels[1].notify_admins and levels[1].raise_priority
        low = await db.scalar(select(SlaPolicy).where(SlaPolicy.name == "Priorité basse"))
        assert (low.first_response_minutes, low.resolution_minutes) == (480, 2400)
        greeting = await db.scalar(
            select(CannedReply).where(CannedReply.title == "Accusé de réception")
        )
        assert "{{ customer.name }}" in greeting.body and "{{ ticket.number }}" in greeting.body

    counts = [await _count(sessionmaker, model) for model in (BusinessCalendar, SlaPolicy)]
    async with sessionmaker() as db, db.begin():
        await ensure_support_defaults(db)  # a second bootstrap adds nothing
    assert [await _count(sessionmaker, model) for model in (BusinessCalendar, SlaPolicy)] == counts


async def test_the_demo_team_works_in_the_default_group(settings, sessionmaker):
    await seed_demo_data(settings)  # whatever ran before, it is loaded now
    async with sessionmaker() as db:
        support = await db.scalar(select(SupportGroup).where(SupportGroup.name == GROUP_NAME))
        lead = await db.get(User, support.lead_id)
        members = {user.email for user in await group_service.members(db, support.id)}
    assert lead.email == dict(DEMO_LOGINS)["team_lead"]
    assert {dict(DEMO_LOGINS)["team_lead"], dict(DEMO_LOGINS)["agent"]} <= members


async def test_the_admin_console_links_the_support_pages(signed_in):
    admin = await signed_in("admin")
    home = await admin.get("/admin/support", headers=EN)
    assert home.status_code == 200
    for section in ("categories", "groups", "calendars", "policies", "replies"):
        assert f'href="/admin/support/{section}"' in home.text
        listing = await admin.get(f"/admin/support/{section}", headers=EN)
        assert listing.status_code == 200, section
        assert (await admin.get(f"/admin/support/{section}/new", headers=EN)).status_code == 200
    assert 'href="/admin/support"' in (await admin.get("/admin", headers=EN)).text
    groups = await admin.get("/admin/support/groups", headers=EN)
    assert GROUP_NAME in groups.text and "Default" in groups.text


# -- access --------------------------------------------------------------------------------------


async def test_an_agent_may_neither_see_nor_change_the_support_settings(signed_in, sessionmaker):
    agent = await signed_in("agent")
    calendar = await _default_calendar(sessionmaker)
    for path in (
        "/admin/support",
        "/admin/support/categories",
        "/admin/support/groups/new",
        f"/admin/support/calendars/{calendar.id}",
        "/admin/support/policies",
        "/admin/support/replies/new",
    ):
        assert (await agent.get(path)).status_code == 403, path
    refused = await _post(agent, "/admin/support/categories/new", {"name": "Sneaky"}, page="/staff")
    assert refused.status_code == 403
    assert await _count(sessionmaker, TicketCategory, TicketCategory.name == "Sneaky") == 0


async def test_records_that_do_not_exist_answer_404(signed_in):
    admin = await signed_in("admin")
    for kind in ("categories", "groups", "calendars", "policies", "replies"):
        assert (await admin.get(f"/admin/support/{kind}/{uuid.uuid4()}")).status_code == 404
        assert (await admin.get(f"/admin/support/{kind}/not-an-id")).status_code == 404
        missing = await _post(admin, f"/admin/support/{kind}/{uuid.uuid4()}/delete")
        assert missing.status_code == 404, kind


# -- categories ----------------------------------------------------------------------------------


async def test_admin_creates_edits_and_deletes_categories(signed_in, sessionmaker, unique):
    admin = await signed_in("admin")
    parent_id = await _category(
        admin, sessionmaker, name=f"Hébergement {unique}", position="5", active="on"
    )
    child_id = await _category(
        admin, sessionmaker, name=f"Sauvegardes {unique}", parent_id=str(parent_id), active="on"
    )
    listing = await admin.get("/admin/support/categories", headers=EN)
    assert f"Hébergement {unique}" in listing.text and f"Sauvegardes {unique}" in listing.text

    async with sessionmaker() as db:
        support = await db.scalar(select(SupportGroup).where(SupportGroup.name == GROUP_NAME))
    edited = await _post(
        admin, f"/admin/support/categories/{child_id}",
        {"name": f"Sauvegardes 2 {unique}", "parent_id": str(parent_id),
         "group_id": str(support.id), "position": "2"},
    )  # fmt: skip
    assert edited.status_code == 303
    child = await _get(sessionmaker, TicketCategory, child_id)
    assert child.name == f"Sauvegardes 2 {unique}" and child.group_id == support.id
    assert not child.active and child.position == 2  # the box was left unticked
    [event] = await audit_events(sessionmaker, "ticket_category.updated", child_id)
    assert event.after["active"] is False and event.before["name"] == f"Sauvegardes {unique}"

    # A parent with a child cannot go, nor be put under its own child.
    looped = await _post(
        admin, f"/admin/support/categories/{parent_id}",
        {"name": f"Hébergement {unique}", "parent_id": str(child_id), "active": "on"},
    )  # fmt: skip
    assert looped.status_code == 422 and "under itself" in looped.text
    refused = await _post(admin, f"/admin/support/categories/{parent_id}/delete")
    assert refused.status_code == 409 and "sub-categories" in refused.text

    assert (await _post(admin, f"/admin/support/categories/{child_id}/delete")).status_code == 303
    assert await _get(sessionmaker, TicketCategory, child_id) is None
    assert await audit_events(sessionmaker, "ticket_category.deleted", child_id)


async def test_a_category_tickets_use_is_deactivated_not_deleted(signed_in, sessionmaker, unique):
    admin = await signed_in("admin")
    category_id = await _category(admin, sessionmaker, name=f"Ancienne offre {unique}", active="on")
    await _ticket(sessionmaker, category_id=category_id)

    refused = await _post(admin, f"/admin/support/categories/{category_id}/delete")
    assert refused.status_code == 409 and "deactivate it instead" in refused.text
    assert await _get(sessionmaker, TicketCategory, category_id) is not None


async def test_bad_category_input_is_explained_kept_and_writes_nothing(
    signed_in, sessionmaker, unique
):
    admin = await signed_in("admin")
    answer = await _post(
        admin, "/admin/support/categories/new",
        {"name": "Facturation", "position": "99999", "group_id": "not-a-group"},
    )  # fmt: skip
    assert answer.status_code == 422
    assert "Another category at this place already has this name." in answer.text
    assert "Enter a number of at most 10000." in answer.text
    assert "Choose from the list." in answer.text
    assert _kept(answer.text, "position") == "99999"
    assert await _count(sessionmaker, TicketCategory, TicketCategory.name == "Facturation") == 1


# -- groups and members --------------------------------------------------------------------------


async def test_admin_creates_a_group_adds_members_and_marks_one_away(
    signed_in, sessionmaker, unique
):
    admin = await signed_in("admin")
    colleague = await signed_in("agent")
    name = f"Niveau 2 {unique}"
    group_id = _created_id(
        await _post(admin, "/admin/support/groups/new", {
            "name": name, "lead_id": str(admin.person.user.id), "assignment_mode": "least_open",
            "close_resolved_after_days": "5", "remind_waiting_after_days": "2",
            "close_waiting_after_days": "6", "reopen_window_days": "30", "active": "on",
        })
    )  # fmt: skip
    group = await _get(sessionmaker, SupportGroup, group_id)
    assert (group.lead_id, group.assignment_mode, group.reopen_window_days) == (
        admin.person.user.id, "least_open", 30,
    )  # fmt: skip
    assert not group.is_default, "the default group stays the default"
    assert await audit_events(sessionmaker, "support_group.created", group_id)

    page = f"/admin/support/groups/{group_id}"
    added = await _post(admin, f"{page}/members", {"user_id": str(colleague.person.user.id)}, page)
    assert added.status_code == 303
    members = {(m.full_name, m.away) for m in await _members(sessionmaker, group_id)}
    assert members == {(colleague.person.user.full_name, False)}

    away = await _post(
        admin, f"{page}/members/{colleague.person.user.id}/away", {"away": "on"}, page
    )
    assert away.status_code == 303
    assert (await _get(sessionmaker, User, colleague.person.user.id)).away is True
    [event] = await audit_events(
        sessionmaker, "user.availability_changed", colleague.person.user.id
    )
    assert event.after == {"away": True}
    shown = await admin.get(page, headers=EN)
    assert "Away" in shown.text and "Mark as back" in shown.text

    # htmx swaps the members panel only.
    token = await form_token(admin, page)
    fragment = await admin.post(
        f"{page}/members/{colleague.person.user.id}/away",
        data={"csrf_token": token}, headers={**EN, "HX-Request": "true"},
    )  # fmt: skip
    assert fragment.status_code == 200 and 'id="members"' in fragment.text
    assert "<html" not in fragment.text and "is back" in fragment.text
    assert (await _get(sessionmaker, User, colleague.person.user.id)).away is False

    removed = await _post(admin, f"{page}/members/{colleague.person.user.id}/remove", page=page)
    assert removed.status_code == 303 and await _members(sessionmaker, group_id) == []
    assert await audit_events(sessionmaker, "support_group.member_removed", group_id)

    assert (await _post(admin, f"{page}/delete", page=page)).status_code == 303
    assert await _get(sessionmaker, SupportGroup, group_id) is None


async def _members(sessionmaker, group_id) -> list[User]:
    async with sessionmaker() as db:
        return await group_service.members(db, group_id)


async def test_bad_group_input_is_explained_kept_and_writes_nothing(signed_in, sessionmaker):
    admin = await signed_in("admin")
    answer = await _post(
        admin, "/admin/support/groups/new",
        {"name": GROUP_NAME, "assignment_mode": "random", "close_resolved_after_days": "-1",
         "remind_waiting_after_days": "5", "close_waiting_after_days": "5",
         "reopen_window_days": "abc", "active": "on"},
    )  # fmt: skip
    assert answer.status_code == 422
    for message in (
        "Another group already has this name.",
        "Enter a number of at least 1.",
        "Close after more days than the reminder (5).",
        "Enter a whole number.",
    ):
        assert message in answer.text
    assert _kept(answer.text, "reopen_window_days") == "abc"
    assert await _count(sessionmaker, SupportGroup, SupportGroup.name == GROUP_NAME) == 1


async def test_the_default_group_keeps_its_flag_until_another_takes_it(signed_in, sessionmaker):
    admin = await signed_in("admin")
    async with sessionmaker() as db:
        support = await db.scalar(select(SupportGroup).where(SupportGroup.is_default))
    answer = await _post(
        admin, f"/admin/support/groups/{support.id}",
        {"name": support.name, "assignment_mode": "round_robin",
         "close_resolved_after_days": "7", "remind_waiting_after_days": "3",
         "close_waiting_after_days": "10", "reopen_window_days": "14", "active": "on"},
    )  # fmt: skip
    assert answer.status_code == 422 and "make another group the default instead" in answer.text
    refused = await _post(admin, f"/admin/support/groups/{support.id}/delete")
    assert refused.status_code == 409

    # Another group taking the flag takes it from the old default (rolled back: shared database).
    async with sessionmaker() as db:
        transaction = await db.begin()
        other = await group_service.create_group(
            db,
            SYSTEM,
            group_service.GroupForm(name=f"Nuit {uuid.uuid4().hex[:6]}", is_default=True),
        )
        defaults = set(await db.scalars(select(SupportGroup.id).where(SupportGroup.is_default)))
        assert defaults == {other.id}
        await transaction.rollback()
    assert (await _get(sessionmaker, SupportGroup, support.id)).is_default


# -- calendars and holidays ----------------------------------------------------------------------


def _calendar_form(name: str, **changes) -> dict:
    form = {
        "name": name, "time_zone": "Africa/Algiers", "working_days": ["6", "0", "1", "2", "3"],
        "hours_start": ["08:00", "13:00", ""], "hours_end": ["12:00", "16:30", ""],
    }  # fmt: skip
    return {**form, **changes}


async def test_admin_creates_a_calendar_with_a_lunch_break_and_its_holidays(
    signed_in, sessionmaker, unique
):
    admin = await signed_in("admin")
    calendar_id = _created_id(
        await _post(admin, "/admin/support/calendars/new", _calendar_form(f"Oran {unique}"))
    )
    calendar = await _get(sessionmaker, BusinessCalendar, calendar_id)
    assert calendar.hours == [["08:00", "12:00"], ["13:00", "16:30"]]
    assert sorted(calendar.working_days) == [0, 1, 2, 3, 6] and not calendar.is_default
    page = f"/admin/support/calendars/{calendar_id}"

    holiday = await _post(admin, f"{page}/holidays",
                          {"day": "2031-03-08", "name": "Journée de la femme"}, page)  # fmt: skip
    assert holiday.status_code == 303
    twice = await _post(admin, f"{page}/holidays",
                        {"day": "2031-03-08", "name": "Encore"}, page)  # fmt: skip
    assert twice.status_code == 422
    assert "This day is already a holiday: Journée de la femme." in twice.text
    assert _kept(twice.text, "name", "f-holiday-name") == "Encore"
    async with sessionmaker() as db:
        [row] = await calendar_service.holidays_of(db, calendar_id)
    moved = await _post(
        admin, f"{page}/holidays/{row.id}", {"day": "2031-03-09", "name": "Journée de la femme"},
        f"{page}/holidays/{row.id}",
    )  # fmt: skip
    assert moved.status_code == 303
    assert (await _get(sessionmaker, CalendarHoliday, row.id)).day == date(2031, 3, 9)
    assert await audit_events(sessionmaker, "business_calendar.holiday_updated", calendar_id)
    shown = await admin.get(f"{page}?year=2031", headers=EN)
    assert "Journée de la femme" in shown.text and "Sunday, 9 March 2031" in shown.text
    deleted = await _post(admin, f"{page}/holidays/{row.id}/delete", page=page)
    assert deleted.status_code == 303
    assert await _get(sessionmaker, CalendarHoliday, row.id) is None

    edited = await _post(
        admin, page, _calendar_form(f"Oran {unique}", hours_start=["09:00"], hours_end=["24:00"])
    )
    assert edited.status_code == 303
    assert (await _get(sessionmaker, BusinessCalendar, calendar_id)).hours == [["09:00", "00:00"]]
    [event] = await audit_events(sessionmaker, "business_calendar.updated", calendar_id)
    assert event.after == {"hours": [["09:00", "00:00"]]}


async def test_importing_the_public_holidays_twice_adds_them_once(signed_in, sessionmaker, unique):
    admin = await signed_in("admin")
    calendar_id = _created_id(
        await _post(admin, "/admin/support/calendars/new", _calendar_form(f"Import {unique}"))
    )
    page = f"/admin/support/calendars/{calendar_id}"
    first = await _post(admin, f"{page}/holidays/import", {"year": "2030"}, page)
    assert first.status_code == 303
    in_calendar = CalendarHoliday.calendar_id == calendar_id
    count = await _count(sessionmaker, CalendarHoliday, in_calendar)
    assert count >= 10
    estimated = await _count(sessionmaker, CalendarHoliday, in_calendar, CalendarHoliday.estimated)
    assert 0 < estimated < count  # Islamic holidays are estimates; 1 November is not

    again = await _post(admin, f"{page}/holidays/import", {"year": "2030"}, page)
    assert again.status_code == 303
    assert await _count(sessionmaker, CalendarHoliday, in_calendar) == count
    shown = await admin.get(f"{page}?year=2030", headers=EN)
    assert "Holidays of 2030 imported: 0 added." in shown.text and "Estimated" in shown.text
    events = await audit_events(sessionmaker, "business_calendar.holidays_imported", calendar_id)
    assert [event.after["added"] for event in events] == [count, 0]

    bad_year = await _post(admin, f"{page}/holidays/import", {"year": "1800"}, page)
    assert bad_year.status_code == 422 and "Enter a number of at least 2000." in bad_year.text


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"hours_start": ["08:00", "11:00"], "hours_end": ["12:00", "16:30"]},
         "intervals must not overlap"),
        ({"hours_start": ["16:30"], "hours_end": ["08:00"]}, "Each interval must end after"),
        ({"hours_start": ["8h"], "hours_end": ["12:00"]}, "Enter times as HH:MM"),
        ({"hours_start": [""], "hours_end": [""]}, "Give at least one interval"),
        ({"time_zone": "Mars/Olympus_Mons"}, "Choose a time zone from the list."),
        ({"working_days": []}, "Choose at least one working day."),
        ({"working_days": ["7"]}, "Choose days from the list."),
        ({"name": CALENDAR_NAME}, "Another calendar already has this name."),
    ],
    ids=["overlap", "backwards", "not a time", "no hours", "time zone", "no day", "day 7",
         "duplicate"],
)  # fmt: skip
async def test_bad_calendar_input_is_explained_kept_and_writes_nothing(
    signed_in, sessionmaker, unique, changes, message
):
    admin = await signed_in("admin")
    changes = dict(changes)
    name = changes.pop("name", f"Mauvais {unique}")
    answer = await _post(admin, "/admin/support/calendars/new", _calendar_form(name, **changes))
    assert answer.status_code == 422
    assert message in answer.text
    assert _kept(answer.text, "name") == name
    if "hours_start" in changes and changes["hours_start"][0]:
        assert f'value="{changes["hours_start"][0]}"' in answer.text
    assert await _count(sessionmaker, BusinessCalendar, BusinessCalendar.name == name) == (
        1 if name == CALENDAR_NAME else 0
    )


async def test_a_calendar_policies_use_cannot_be_deleted(signed_in, sessionmaker):
    admin = await signed_in("admin")
    calendar = await _default_calendar(sessionmaker)
    refused = await _post(admin, f"/admin/support/calendars/{calendar.id}/delete")
    assert refused.status_code == 409 and "default calendar cannot be deleted" in refused.text

    async with sessionmaker() as db:
        transaction = await db.begin()
        other = await calendar_service.create_calendar(
            db, SYSTEM,
            calendar_service.CalendarForm(f"Autre {uuid.uuid4().hex[:6]}", "Africa/Algiers",
                                          ["0"], [("08:00", "12:00")], is_default=True),
        )  # fmt: skip
        assert set(
            await db.scalars(select(BusinessCalendar.id).where(BusinessCalendar.is_default))
        ) == {other.id}
        with pytest.raises(calendar_service.Refused, match="SLA policies use this calendar"):
            await calendar_service.delete_calendar(db, SYSTEM, calendar.id)
        await transaction.rollback()


# -- SLA policies and escalation levels ---------------------------------------------------------


def _policy_form(name: str, calendar_id, **changes) -> dict:
    form = {
        "name": name, "position": "90", "match_priorities": ["high", "urgent"],
        "match_segment": "premium", "calendar_id": str(calendar_id),
        "first_response_hours": "1", "first_response_minutes": "30",
        "next_response_hours": "", "next_response_minutes": "",
        "resolution_hours": "16", "resolution_minutes": "", "warning_minutes": "20",
        "active": "on",
    }  # fmt: skip
    return {**form, **changes}


async def test_admin_creates_a_policy_with_escalation_levels(signed_in, sessionmaker, unique):
    admin = await signed_in("admin")
    calendar = await _default_calendar(sessionmaker)
    policy_id = _created_id(
        await _post(admin, "/admin/support/policies/new",
                    _policy_form(f"Premium {unique}", calendar.id))
    )  # fmt: skip
    policy = await _get(sessionmaker, SlaPolicy, policy_id)
    assert (policy.first_response_minutes, policy.next_response_minutes) == (90, None)
    assert policy.resolution_minutes == 16 * 60 and policy.match_priorities == ["high", "urgent"]
    assert policy.match_segment == "premium" and policy.warning_minutes == 20
    page = f"/admin/support/policies/{policy_id}"
    shown = await admin.get(page, headers=EN)
    assert 'name="first_response_hours" value="1"' in shown.text
    assert 'name="first_response_minutes" value="30"' in shown.text

    levels = f"{page}/levels"
    first_level = {"after_minutes": "0", "notify_lead": "on"}
    assert (await _post(admin, levels, first_level, page)).status_code == 303
    second_level = {"after_minutes": "60", "notify_admins": "on", "raise_priority": "on"}
    assert (await _post(admin, levels, second_level, page)).status_code == 303
    too_early = await _post(admin, levels, {"after_minutes": "30", "notify_lead": "on"}, page)
    assert too_early.status_code == 422
    assert "Fire later than level 2 (60 minutes)." in too_early.text
    idle = await _post(admin, levels, {"after_minutes": "90"}, page)
    assert idle.status_code == 422 and "Choose at least one thing" in idle.text

    async with sessionmaker() as db:
        first, second = await _levels(db, policy_id)
    updated = await _post(
        admin, f"{levels}/{second.id}", {"after_minutes": "45", "notify_lead": "on"}, page
    )
    assert updated.status_code == 303
    assert (await _get(sessionmaker, SlaEscalationLevel, second.id)).after_minutes == 45
    assert (await _post(admin, f"{levels}/{first.id}/delete", page=page)).status_code == 303
    async with sessionmaker() as db:
        [remaining] = await _levels(db, policy_id)
    assert (remaining.id, remaining.level) == (second.id, 1)
    assert await audit_events(sessionmaker, "sla_policy.level_deleted", policy_id)

    assert (await _post(admin, f"{page}/delete", page=page)).status_code == 303
    assert await _get(sessionmaker, SlaPolicy, policy_id) is None
    assert await audit_events(sessionmaker, "sla_policy.deleted", policy_id)


async def _levels(db, policy_id):
    return list(
        await db.scalars(
            select(SlaEscalationLevel)
            .where(SlaEscalationLevel.policy_id == policy_id)
            .order_by(SlaEscalationLevel.level)
        )
    )


async def test_bad_policy_input_is_explained_kept_and_writes_nothing(
    signed_in, sessionmaker, unique
):
    admin = await signed_in("admin")
    calendar = await _default_calendar(sessionmaker)
    name = f"Mauvaise {unique}"
    answer = await _post(
        admin, "/admin/support/policies/new",
        _policy_form(name, "nope", first_response_hours="-2", resolution_hours="0",
                     resolution_minutes="0", warning_minutes="-5",
                     match_priorities=["critical"]),
    )  # fmt: skip
    assert answer.status_code == 422
    for message in (
        "Enter a number of at least 0.",
        "Enter at least one minute, or leave both boxes empty.",
        "Choose priorities from the list.",
        "Choose from the list.",
    ):
        assert message in answer.text
    assert 'name="first_response_hours" value="-2"' in answer.text
    assert await _count(sessionmaker, SlaPolicy, SlaPolicy.name == name) == 0

    late_warning = await _post(
        admin,
        "/admin/support/policies/new",
        _policy_form(name, calendar.id, warning_minutes="90"),
    )
    assert late_warning.status_code == 422
    assert "Warn less than 90 minutes before a deadline" in late_warning.text
    duplicate = await _post(
        admin, "/admin/support/policies/new", _policy_form("Priorité urgente", calendar.id)
    )
    assert (
        duplicate.status_code == 422 and "Another policy already has this name." in duplicate.text
    )


# -- canned replies ------------------------------------------------------------------------------


async def test_admin_writes_a_canned_reply_checked_and_previewed(signed_in, sessionmaker, unique):
    admin = await signed_in("admin")
    title = f"Maintenance {unique}"
    body = "Bonjour {{ requester.name }},\nLe ticket {{ ticket.number }} est pris en charge."
    reply_id = _created_id(
        await _post(admin, "/admin/support/replies/new",
                    {"category": "Incidents", "title": title, "body": body, "active": "on"})
    )  # fmt: skip
    reply = await _get(sessionmaker, CannedReply, reply_id)
    assert reply.body == body and reply.category == "Incidents" and reply.active
    page = await admin.get(f"/admin/support/replies/{reply_id}", headers=EN)
    assert "Le ticket TCK-2026-000123 est pris en charge." in page.text  # the preview

    edited = await _post(
        admin, f"/admin/support/replies/{reply_id}",
        {"category": "Incidents", "title": title, "body": body + "\n{{ agent.name|upper }}"},
    )  # fmt: skip
    assert (
        edited.status_code == 303 and not (await _get(sessionmaker, CannedReply, reply_id)).active
    )
    [event] = await audit_events(sessionmaker, "canned_reply.updated", reply_id)
    assert set(event.after) == {"body", "active"}

    assert (await _post(admin, f"/admin/support/replies/{reply_id}/delete")).status_code == 303
    assert await _get(sessionmaker, CannedReply, reply_id) is None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("Bonjour {{ customer.name }", "Template error on line 1"),
        ("Ligne 1\n{% if ticket.number %}sans fin", "Template error on line 2"),
        ("Bonjour {{ client.name }}", "Unknown variable: client."),
        ("Bonjour {{ customer.nmae }}", "Unknown field"),
        ("{{ customer.__class__.__mro__ }}", "Not allowed in a template"),
    ],
    ids=["syntax", "unclosed block", "unknown variable", "unknown field", "sandbox"],
)
async def test_a_broken_template_is_a_form_error(signed_in, sessionmaker, unique, body, message):
    admin = await signed_in("admin")
    title = f"Cassée {unique}"
    answer = await _post(
        admin, "/admin/support/replies/new", {"title": title, "body": body, "active": "on"}
    )
    assert answer.status_code == 422
    assert message in html.unescape(answer.text)
    assert html.escape(body, quote=False) in answer.text  # the text is kept
    assert await _count(sessionmaker, CannedReply, CannedReply.title == title) == 0


# -- agents' availability ------------------------------------------------------------------------


async def test_an_agent_marks_themselves_away_and_back(signed_in, sessionmaker):
    agent = await signed_in("agent")
    user_id = agent.person.user.id
    home = await agent.get("/staff", headers=EN)
    assert 'action="/staff/availability"' in home.text and "Mark me as away" in home.text

    away = await _post(agent, "/staff/availability", {"away": "on", "next": "/staff"}, "/staff")
    assert away.status_code == 303 and away.headers["location"] == "/staff"
    assert (await _get(sessionmaker, User, user_id)).away is True
    page = await agent.get("/staff", headers=EN)
    assert "You are away" in page.text and "I&#39;m back" in page.text

    again = await _post(agent, "/staff/availability", {"away": "on"}, "/staff")
    assert again.status_code == 303  # the same state twice: one audit row
    back = await _post(agent, "/staff/availability", {"next": "https://evil.example/"}, "/staff")
    assert back.headers["location"] == "/staff"  # never sent elsewhere
    assert (await _get(sessionmaker, User, user_id)).away is False
    events = await audit_events(sessionmaker, "user.availability_changed", user_id)
    assert [event.after for event in events] == [{"away": True}, {"away": False}]


async def test_a_customer_cannot_set_availability(signed_in, sessionmaker):
    owner = await signed_in("customer_owner")
    answer = await _post(owner, "/staff/availability", {"away": "on"}, "/portal")
    assert answer.status_code == 403


async def test_only_known_staff_join_a_group(sessionmaker):
    async with sessionmaker() as db:
        support = await db.scalar(select(SupportGroup).where(SupportGroup.is_default))
        with pytest.raises(InputError) as refused:
            await group_service.add_member(db, SYSTEM, support.id, str(uuid.uuid4()))
        assert "user_id" in refused.value.errors
        await db.rollback()
