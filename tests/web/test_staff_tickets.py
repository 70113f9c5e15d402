"""The back-office ticket list over real HTTP against the real database: queue counts in the
sidebar, every filter, French and English search, sorting, pages, the empty state, the htmx
fragment and the CSV export.

Tickets are written straight into the projection (tests/support/ticket_rows.py), as the ticket
activities would. The database is shared by the session, so each test looks at its own customer
(the `customer_id` filter) or its own agent's queues.
"""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import UTC, datetime, timedelta

from tests.support.admin import audit_events
from tests.support.ticket_rows import (
    make_category,
    make_customer,
    make_group,
    make_staff,
    make_ticket,
)

EN = {"Accept-Language": "en"}
SUBJECT = re.compile(r'class="ticket-subject" href="[^"]+">([^<]*)</a>')


def subjects(page: str) -> list[str]:
    """The subjects of the table's rows, in order."""
    return [html.unescape(found) for found in SUBJECT.findall(page)]


def queue_count(page: str, queue: str) -> str | None:
    link = re.search(
        rf'<a href="/staff/tickets\?queue={queue}"[^>]*>\s*<span>[^<]*</span>'
        rf'(?:\s*<span class="count[^"]*">([^<]*)</span>)?',
        page,
    )
    assert link, f"no sidebar link for the {queue} queue"
    return link.group(1)


async def _list(client, **query):
    return await client.get("/staff/tickets", params={"queue": "all", **query}, headers=EN)


async def test_the_sidebar_counts_the_open_tickets_of_my_queue_and_my_groups(
    signed_in, sessionmaker
):
    agent = await signed_in("agent")
    me = agent.person.user.id
    group = await make_group(sessionmaker, me)
    customer = await make_customer(sessionmaker)
    await make_ticket(sessionmaker, customer, "Mine", assignee_id=me)
    await make_ticket(sessionmaker, customer, "Mine too", assignee_id=me, status="answered")
    await make_ticket(sessionmaker, customer, "Mine, closed", assignee_id=me, status="closed")
    await make_ticket(sessionmaker, customer, "Group's", group_id=group.id)

    page = await agent.get("/staff", headers=EN)

    assert page.status_code == 200
    assert queue_count(page.text, "mine") == "2"
    assert queue_count(page.text, "my_groups") == "1"
    assert queue_count(page.text, "all") is None  # "all" is a link, never counted


async def test_the_queue_link_of_the_list_shown_is_marked_current(signed_in):
    agent = await signed_in("agent")

    page = await agent.get("/staff/tickets?queue=unassigned", headers=EN)

    assert re.search(r'<a href="/staff/tickets\?queue=unassigned" aria-current="page"', page.text)


async def test_my_queue_holds_only_open_tickets_assigned_to_me(signed_in, sessionmaker):
    agent = await signed_in("agent")
    customer = await make_customer(sessionmaker)
    colleague = await make_staff(sessionmaker)
    await make_ticket(sessionmaker, customer, "Assigned to me", assignee_id=agent.person.user.id)
    await make_ticket(sessionmaker, customer, "Assigned to a colleague", assignee_id=colleague.id)
    await make_ticket(
        sessionmaker, customer, "Mine but resolved", assignee_id=agent.person.user.id,
        status="resolved",
    )  # fmt: skip

    page = await agent.get("/staff/tickets", headers=EN)

    assert subjects(page.text) == ["Assigned to me"]


async def test_status_and_priority_filters_keep_the_tickets_in_any_chosen_value(
    signed_in, sessionmaker
):
    agent = await signed_in("agent")
    customer = await make_customer(sessionmaker)
    await make_ticket(sessionmaker, customer, "Open urgent", priority="urgent")
    await make_ticket(sessionmaker, customer, "On hold urgent", status="on_hold", priority="urgent")
    await make_ticket(sessionmaker, customer, "Open low", priority="low")
    await make_ticket(sessionmaker, customer, "Answered high", status="answered", priority="high")

    page = await _list(
        agent, customer_id=str(customer.id), status=["open", "on_hold"], priority=["urgent"]
    )

    assert sorted(subjects(page.text)) == ["On hold urgent", "Open urgent"]


async def test_the_category_filter_includes_sub_categories(signed_in, sessionmaker):
    agent = await signed_in("agent")
    customer = await make_customer(sessionmaker)
    hosting = await make_category(sessionmaker, "Hébergement")
    vps = await make_category(sessionmaker, "VPS", parent=hosting)
    billing = await make_category(sessionmaker, "Facturation")
    await make_ticket(sessionmaker, customer, "In hosting", category_id=hosting.id)
    await make_ticket(sessionmaker, customer, "In VPS", category_id=vps.id)
    await make_ticket(sessionmaker, customer, "In billing", category_id=billing.id)

    page = await _list(agent, customer_id=str(customer.id), category=str(hosting.id))

    assert sorted(subjects(page.text)) == ["In VPS", "In hosting"]


async def test_group_agent_and_tag_filters_each_narrow_the_list(signed_in, sessionmaker):
    agent = await signed_in("agent")
    customer = await make_customer(sessionmaker)
    colleague = await make_staff(sessionmaker)
    group = await make_group(sessionmaker)
    await make_ticket(sessionmaker, customer, "Group ticket", group_id=group.id)
    await make_ticket(sessionmaker, customer, "Colleague ticket", assignee_id=colleague.id)
    await make_ticket(sessionmaker, customer, "Tagged ticket", tags=["dns", "vps"])
    scope = {"customer_id": str(customer.id)}

    by_group = await _list(agent, **scope, group=str(group.id))
    by_agent = await _list(agent, **scope, assignee=str(colleague.id))
    by_tag = await _list(agent, **scope, tag="dns")

    assert subjects(by_group.text) == ["Group ticket"]
    assert subjects(by_agent.text) == ["Colleague ticket"]
    assert subjects(by_tag.text) == ["Tagged ticket"]


async def test_the_customer_filter_matches_part_of_the_company_name(
    signed_in, sessionmaker, unique
):
    agent = await signed_in("agent")
    wanted = await make_customer(sessionmaker, f"Atlas {unique} SARL")
    other = await make_customer(sessionmaker, f"Sahara {unique} SPA")
    await make_ticket(sessionmaker, wanted, "From Atlas")
    await make_ticket(sessionmaker, other, "From Sahara")

    page = await _list(agent, customer=f"atlas {unique}")

    assert subjects(page.text) == ["From Atlas"]


async def test_created_dates_are_inclusive_days_in_the_viewers_time_zone(signed_in, sessionmaker):
    agent = await signed_in("agent")  # Africa/Algiers by default: UTC+1
    customer = await make_customer(sessionmaker)
    # 23:30 UTC on 9 March is 00:30 on 10 March in Algiers.
    await make_ticket(
        sessionmaker, customer, "Late", created_at=datetime(2026, 3, 9, 23, 30, tzinfo=UTC)
    )
    await make_ticket(
        sessionmaker, customer, "Early", created_at=datetime(2026, 3, 9, 12, tzinfo=UTC)
    )
    await make_ticket(
        sessionmaker, customer, "Next", created_at=datetime(2026, 3, 11, 9, tzinfo=UTC)
    )

    page = await _list(
        agent, customer_id=str(customer.id), **{"from": "2026-03-10", "to": "2026-03-10"}
    )

    assert subjects(page.text) == ["Late"]


async def test_an_end_date_before_the_start_is_explained_with_the_input_kept(signed_in):
    agent = await signed_in("agent")

    page = await _list(agent, **{"from": "2026-03-10", "to": "2026-03-01"})

    assert page.status_code == 422
    assert "The end date is before the start date." in page.text
    assert 'value="2026-03-01"' in page.text
    assert "Correct the dates above to see tickets." in page.text


async def test_search_finds_french_words_by_their_stem(signed_in, sessionmaker):
    agent = await signed_in("agent")
    customer = await make_customer(sessionmaker)
    await make_ticket(sessionmaker, customer, "Nos serveurs ne répondent plus")
    await make_ticket(sessionmaker, customer, "Question sur la facture")

    page = await _list(agent, customer_id=str(customer.id), q="serveur")

    assert subjects(page.text) == ["Nos serveurs ne répondent plus"]


async def test_search_finds_english_words_by_their_stem(signed_in, sessionmaker):
    agent = await signed_in("agent")
    customer = await make_customer(sessionmaker)
    await make_ticket(sessionmaker, customer, "Two invoices are missing")
    await make_ticket(sessionmaker, customer, "The server is down")

    page = await _list(agent, customer_id=str(customer.id), q="invoice")

    assert subjects(page.text) == ["Two invoices are missing"]


async def test_search_finds_a_ticket_by_its_number(signed_in, sessionmaker, unique):
    agent = await signed_in("agent")
    customer = await make_customer(sessionmaker)
    number = f"TCK-2026-{int(unique, 16) % 10**9:09d}"  # nine digits: never a real one
    await make_ticket(sessionmaker, customer, "Numbered", number=number)
    await make_ticket(sessionmaker, customer, "Other")

    page = await _list(agent, customer_id=str(customer.id), q=number)

    assert subjects(page.text) == ["Numbered"]


async def test_sorting_by_priority_puts_urgent_first_and_reverses_on_request(
    signed_in, sessionmaker
):
    agent = await signed_in("agent")
    customer = await make_customer(sessionmaker)
    for priority in ("medium", "urgent", "low", "high"):
        await make_ticket(sessionmaker, customer, f"P {priority}", priority=priority)
    scope = {"customer_id": str(customer.id), "sort": "priority"}

    natural = await _list(agent, **scope)
    reversed_ = await _list(agent, **scope, dir="asc")

    assert subjects(natural.text) == ["P urgent", "P high", "P medium", "P low"]
    assert subjects(reversed_.text) == ["P low", "P medium", "P high", "P urgent"]
    assert 'aria-sort="descending"' in natural.text


async def test_sorting_by_sla_shows_the_nearest_deadline_first(signed_in, sessionmaker):
    agent = await signed_in("agent")
    customer = await make_customer(sessionmaker)
    now = datetime.now(UTC)
    await make_ticket(sessionmaker, customer, "Due later", resolution_due=now + timedelta(hours=8))
    await make_ticket(sessionmaker, customer, "No deadline")
    await make_ticket(
        sessionmaker, customer, "Due soon", first_response_due=now + timedelta(hours=1)
    )

    page = await _list(agent, customer_id=str(customer.id), sort="sla")

    assert subjects(page.text) == ["Due soon", "Due later", "No deadline"]


async def test_a_long_list_is_paged_with_its_row_count(signed_in, sessionmaker):
    agent = await signed_in("agent")
    customer = await make_customer(sessionmaker)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for index in range(30):
        await make_ticket(
            sessionmaker, customer, f"T{index:02d}", updated_at=start + timedelta(hours=index)
        )

    second = await _list(agent, customer_id=str(customer.id), page="2")

    assert subjects(second.text) == [f"T{index:02d}" for index in range(4, -1, -1)]
    assert "26–30 of 30" in second.text
    assert 'rel="prev"' in second.text and 'rel="next"' not in second.text


async def test_a_queue_without_filters_counts_its_rows_from_the_tallies(signed_in, sessionmaker):
    agent = await signed_in("agent")
    me = agent.person.user.id
    customer = await make_customer(sessionmaker)
    for index in range(27):
        await make_ticket(sessionmaker, customer, f"Mine {index}", assignee_id=me)
    await make_ticket(sessionmaker, customer, "Mine, closed", assignee_id=me, status="closed")

    page = await agent.get("/staff/tickets?queue=mine", headers=EN)
    high = await agent.get("/staff/tickets?queue=mine&priority=high", headers=EN)

    assert "1–25 of 27" in page.text
    assert queue_count(page.text, "mine") == "27"
    assert "No ticket matches these filters." in high.text  # filtered: counted on the tickets


async def test_an_empty_filtered_list_offers_to_clear_the_filters(signed_in, sessionmaker):
    agent = await signed_in("agent")
    customer = await make_customer(sessionmaker)
    await make_ticket(sessionmaker, customer, "Something")

    page = await _list(agent, customer_id=str(customer.id), q="introuvable")

    assert "No ticket matches these filters." in page.text
    assert '<a href="/staff/tickets?queue=all">Clear the filters</a>' in page.text
    assert "<table" not in page.text


async def test_an_empty_queue_of_mine_points_to_the_unassigned_tickets(signed_in):
    agent = await signed_in("agent")

    page = await agent.get("/staff/tickets?queue=mine", headers=EN)

    assert "No open ticket is assigned to you." in page.text
    assert 'href="/staff/tickets?queue=unassigned"' in page.text


async def test_an_htmx_filter_change_gets_only_the_results(signed_in, sessionmaker):
    agent = await signed_in("agent")
    customer = await make_customer(sessionmaker)
    await make_ticket(sessionmaker, customer, "Fragment ticket")

    answer = await agent.get(
        "/staff/tickets",
        params={"queue": "all", "customer_id": str(customer.id)},
        headers={**EN, "HX-Request": "true"},
    )

    assert subjects(answer.text) == ["Fragment ticket"]
    assert "<html" not in answer.text and 'class="sidebar"' not in answer.text


async def test_each_row_has_a_checkbox_for_the_bulk_actions(signed_in, sessionmaker):
    agent = await signed_in("agent")
    customer = await make_customer(sessionmaker)
    ticket = await make_ticket(sessionmaker, customer, "Selectable")

    page = await _list(agent, customer_id=str(customer.id))

    assert f'name="ticket" value="{ticket.id}" form="bulk-form"' in page.text
    assert 'id="bulk-form"' in page.text and 'name="request_id"' in page.text


async def test_a_read_only_role_gets_the_list_without_the_bulk_bar(signed_in, sessionmaker):
    sales = await signed_in("sales")  # tickets.view only
    customer = await make_customer(sessionmaker)
    await make_ticket(sessionmaker, customer, "Read only")

    page = await _list(sales, customer_id=str(customer.id))

    assert subjects(page.text) == ["Read only"]
    assert 'id="bulk-form"' not in page.text


async def test_the_csv_export_holds_the_filtered_rows_and_is_audited(signed_in, sessionmaker):
    agent = await signed_in("agent")
    customer = await make_customer(sessionmaker, "Export SARL")
    await make_ticket(sessionmaker, customer, "=cmd|' /C calc'!A0", priority="urgent")
    await make_ticket(sessionmaker, customer, "Left out", status="closed")

    answer = await agent.get(
        "/staff/tickets/export.csv",
        params={"queue": "all", "customer_id": str(customer.id), "status": "open"},
        headers=EN,
    )

    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert answer.headers["content-disposition"].startswith('attachment; filename="tickets-')
    rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["Number", "Subject", "Customer"]
    assert len(rows) == 2
    assert rows[1][1] == "'=cmd|' /C calc'!A0"  # a formula is defused
    assert rows[1][2] == "Export SARL" and rows[1][5] == "Urgent"
    [event] = [
        event
        for event in await audit_events(sessionmaker, "tickets.export", "")
        if event.after.get("customer_id") == str(customer.id)
    ]
    assert event.actor_id == agent.person.user.id
