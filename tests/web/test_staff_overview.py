"""The back-office overview (/staff) over real HTTP against the real database: the "needs you
now" cards agree with the lists they link to and show only to staff who may open those lists;
the charts' figures (their data tables) match the seeded tickets, in the business time zone;
an empty desk says so in a sentence; the SVG carries no script and no inline style.

The database is shared by the session, so each test looks at its own agent's queues or at the
charts of a group of its own (`/staff?group=<id>`). Tickets are written straight into the
projection (tests/support/ticket_rows.py), as the ticket activities would, with `updated_at`
the time of the last change, as theirs is.
"""

from __future__ import annotations

import html
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_skeleton

from tests.support.browser import browser_sign_in
from tests.support.ticket_rows import make_customer, make_group, make_staff, make_ticket
from tests.web.test_staff_tickets import subjects

EN = {"Accept-Language": "en"}
CARD = re.compile(
    r'<a class="card overview-card[^"]*" href="([^"]+)">\s*'
    r'<span class="overview-count">([^<]*)</span>\s*<span class="overview-label">([^<]*)</span>'
)
FIGURE = re.compile(r"<figure class=\"card overview-chart\">.*?</figure>", re.S)
ROW = re.compile(r'<tr><th scope="row">([^<]*)</th>(.*?)</tr>', re.S)
CELL = re.compile(r'<td class="numeric">([^<]*)</td>')


def cards(page: str) -> dict[str, tuple[str, str]]:
    """Each card's words → (its number, the address it links to)."""
    return {
        html.unescape(label): (count, html.unescape(href))
        for href, count, label in CARD.findall(page)
    }


def chart(page: str, title: str) -> str:
    found = [figure for figure in FIGURE.findall(page) if f"<h3>{title}</h3>" in figure]
    assert found, f"no chart titled {title!r}"
    return found[0]


def table(figure: str) -> dict[str, list[str]]:
    """The chart's data table: row header → the numbers of the row."""
    return {html.unescape(name): CELL.findall(cells) for name, cells in ROW.findall(figure)}


def zone(settings) -> ZoneInfo:
    return ZoneInfo(settings.time_zone)


def day_label(moment: datetime) -> str:
    return format_skeleton("MMMd", moment.date(), locale="en_GB")


async def _desk_of_my_own(signed_in, sessionmaker, role: str = "agent"):
    agent = await signed_in(role)
    group = await make_group(sessionmaker, agent.person.user.id)
    return agent, group, await make_customer(sessionmaker)


async def test_my_open_tickets_card_counts_what_my_queue_lists(signed_in, sessionmaker):
    agent, _, customer = await _desk_of_my_own(signed_in, sessionmaker)
    me = agent.person.user.id
    await make_ticket(sessionmaker, customer, "Mine", assignee_id=me)
    await make_ticket(sessionmaker, customer, "Mine, waiting", assignee_id=me, status="on_hold")
    await make_ticket(sessionmaker, customer, "Mine, resolved", assignee_id=me, status="resolved")

    page = await agent.get("/staff", headers=EN)
    count, link = cards(page.text)["My open tickets"]
    listed = await agent.get(link, headers=EN)

    assert (count, link) == ("2", "/staff/tickets?queue=mine")
    assert sorted(subjects(listed.text)) == ["Mine", "Mine, waiting"]


async def test_each_of_my_groups_has_a_card_of_its_unassigned_tickets(signed_in, sessionmaker):
    agent, group, customer = await _desk_of_my_own(signed_in, sessionmaker)
    colleague = await make_staff(sessionmaker)
    await make_ticket(sessionmaker, customer, "Nobody's", group_id=group.id)
    await make_ticket(
        sessionmaker, customer, "Nobody's either", group_id=group.id, status="answered"
    )
    await make_ticket(sessionmaker, customer, "Taken", group_id=group.id, assignee_id=colleague.id)
    await make_ticket(
        sessionmaker, customer, "Nobody's, closed", group_id=group.id, status="closed"
    )

    page = await agent.get("/staff", headers=EN)
    count, link = cards(page.text)[f"Unassigned in {group.name}"]
    listed = await agent.get(link, headers=EN)

    assert count == "2"
    assert link == f"/staff/tickets?queue=unassigned&group={group.id}"
    assert sorted(subjects(listed.text)) == ["Nobody's", "Nobody's either"]


async def test_an_agent_sees_the_ticket_cards_and_no_kyc_card(signed_in):
    agent = await signed_in("agent")

    page = await agent.get("/staff", headers=EN)

    assert {"My open tickets", "SLA at risk", "SLA breached", "Held mail awaiting a decision"} <= (
        set(cards(page.text))
    )
    assert "KYC files awaiting review" not in cards(page.text)
    assert 'href="/staff/kyc"' not in page.text


async def test_a_kyc_reviewer_sees_the_kyc_card_linked_to_the_queue(signed_in):
    sales = await signed_in("sales")

    page = await sales.get("/staff", headers=EN)

    count, link = cards(page.text)["KYC files awaiting review"]
    assert link == "/staff/kyc"
    assert count.isdigit()


async def test_the_opened_and_resolved_table_carries_each_day_of_the_group(
    signed_in, sessionmaker, settings
):
    agent, group, customer = await _desk_of_my_own(signed_in, sessionmaker)
    now = datetime.now(zone(settings))
    three_days_ago, yesterday = now - timedelta(days=3), now - timedelta(days=1)
    for subject in ("First", "Second"):
        await make_ticket(sessionmaker, customer, subject, group_id=group.id,
                          created_at=three_days_ago)  # fmt: skip
    await make_ticket(
        sessionmaker, customer, "Solved", group_id=group.id, status="resolved",
        created_at=yesterday, resolved_at=now, updated_at=now,
    )  # fmt: skip
    await make_ticket(sessionmaker, customer, "Too old", group_id=group.id,
                      created_at=now - timedelta(days=40))  # fmt: skip

    page = await agent.get(f"/staff?group={group.id}", headers=EN)
    figures = table(chart(page.text, "Tickets opened and resolved per day"))

    assert len(figures) == 30
    assert figures[day_label(three_days_ago)] == ["2", "0"]
    assert figures[day_label(yesterday)] == ["1", "0"]
    assert figures[day_label(now)] == ["0", "1"]
    assert sum(int(opened) for opened, _ in figures.values()) == 3


async def test_the_sla_table_counts_open_tickets_by_priority_and_state(signed_in, sessionmaker):
    agent, group, customer = await _desk_of_my_own(signed_in, sessionmaker)
    for priority, sla_state, status in [
        ("urgent", "breached", "open"), ("high", "at_risk", "in_progress"),
        ("medium", "ok", "open"), ("medium", "ok", "waiting_on_customer"),
        ("urgent", "breached", "closed"),
    ]:  # fmt: skip
        await make_ticket(sessionmaker, customer, group_id=group.id, priority=priority,
                          sla_state=sla_state, status=status)  # fmt: skip

    page = await agent.get(f"/staff?group={group.id}", headers=EN)
    figures = table(chart(page.text, "Open tickets by priority and SLA state"))

    # Columns: OK, at risk, breached, total.
    assert figures == {
        "Low": ["0", "0", "0", "0"], "Medium": ["2", "0", "0", "2"],
        "High": ["0", "1", "0", "1"], "Urgent": ["0", "0", "1", "1"],
    }  # fmt: skip


async def test_the_median_first_response_of_this_week(signed_in, sessionmaker, settings):
    agent, group, customer = await _desk_of_my_own(signed_in, sessionmaker)
    answered = datetime.now(zone(settings)) - timedelta(seconds=1)
    for hours in (2, 4, 9):
        await make_ticket(
            sessionmaker, customer, group_id=group.id, status="answered",
            created_at=answered - timedelta(hours=hours), first_responded_at=answered,
            updated_at=answered,
        )  # fmt: skip

    page = await agent.get(f"/staff?group={group.id}", headers=EN)
    figures = table(chart(page.text, "Median first response per week (hours)"))

    this_monday = answered - timedelta(days=answered.weekday())
    assert len(figures) == 8
    assert figures[day_label(this_monday)] == ["4", "3"]


async def test_a_desk_without_tickets_says_so_instead_of_drawing(signed_in, sessionmaker):
    agent, group, _ = await _desk_of_my_own(signed_in, sessionmaker)

    page = await agent.get(f"/staff?group={group.id}", headers=EN)

    assert "No ticket was opened or resolved in the last 30 days." in page.text
    assert "No open ticket: nothing is waiting for an answer." in page.text
    assert "No first reply in the last 8 weeks." in page.text
    assert "<svg" not in page.text


async def test_the_charts_are_svg_images_with_a_name_and_no_script_or_style(
    signed_in, sessionmaker
):
    agent, group, customer = await _desk_of_my_own(signed_in, sessionmaker)
    await make_ticket(sessionmaker, customer, group_id=group.id, sla_state="at_risk")

    page = await agent.get(f"/staff?group={group.id}", headers=EN)
    svgs = re.findall(r"<svg.*?</svg>", page.text, re.S)

    assert len(svgs) == 2  # opened today, open by SLA state; no first reply yet
    for svg in svgs:
        assert "<script" not in svg and "<style" not in svg and "style=" not in svg
        assert 'role="img"' in svg
        assert re.search(r"<title id=\"[^\"]+\">[^<]+</title><desc id=\"[^\"]+\">[^<]+</desc>", svg)


async def test_choosing_a_group_with_htmx_redraws_only_the_charts(signed_in, sessionmaker):
    agent, group, _ = await _desk_of_my_own(signed_in, sessionmaker)

    fragment = await agent.get(f"/staff?group={group.id}", headers={**EN, "HX-Request": "true"})

    assert fragment.status_code == 200
    assert "<html" not in fragment.text and "overview-card" not in fragment.text
    assert "No open ticket: nothing is waiting for an answer." in fragment.text


async def test_customers_cannot_open_the_overview(signed_in):
    customer = await signed_in("customer_owner")

    page = await customer.get("/staff", headers=EN)

    assert page.status_code == 403


async def test_the_overview_renders_in_chromium_without_console_errors(
    page, sessionmaker, settings
):
    from tests.support.accounts import make_person

    person = await make_person(sessionmaker, settings, role="team_lead")
    group = await make_group(sessionmaker, person.user.id)
    customer = await make_customer(sessionmaker)
    await make_ticket(sessionmaker, customer, group_id=group.id, priority="urgent")
    errors: list[str] = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    await browser_sign_in(page, person)

    await page.goto(f"/staff?group={group.id}")

    assert await page.locator(".overview-chart svg").count() == 2
    assert errors == []
