"""Admin console, audit log, over real HTTP: filters (actor, action, target, dates in the
reader's time zone), pages, newest first, and the CSV export, safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from db.models import AuditEvent
from tests.support.admin import audit_events

EN = {"Accept-Language": "en"}


async def _events(sessionmaker, *events: dict) -> None:
    async with sessionmaker() as db, db.begin():
        for values in events:
            db.add(AuditEvent(**values))


async def test_filters_pages_and_newest_first(signed_in, sessionmaker, unique):
    admin = await signed_in("admin")
    start = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
    await _events(
        sessionmaker,
        *[
            {"actor_label": f"clerk-{unique}@example.dz", "action": f"test.step_{unique}",
             "target_type": "invoice", "target_id": f"INV-{index:02d}",
             "occurred_at": start + timedelta(minutes=index)}
            for index in range(30)
        ],
    )  # fmt: skip

    first = await admin.get(f"/admin/audit?actor={unique}", headers=EN)
    assert first.status_code == 200 and "1–25 of 30" in first.text
    assert first.text.index("INV-29") < first.text.index("INV-28")  # newest first
    assert "INV-04" not in first.text
    second = await admin.get(f"/admin/audit?actor={unique}&page=2", headers=EN)
    assert "26–30 of 30" in second.text and "INV-00" in second.text

    by_action = await admin.get(f"/admin/audit?action=test.step_{unique}", headers=EN)
    assert "1–25 of 30" in by_action.text
    assert f'<option value="test.step_{unique}" selected' in by_action.text
    by_target = await admin.get(
        f"/admin/audit?target_type=invoice&target_id=INV-07&actor={unique}", headers=EN
    )
    assert "1–1 of 1" in by_target.text and "INV-07" in by_target.text

    fragment = await admin.get(f"/admin/audit?actor={unique}", headers={**EN, "HX-Request": "true"})
    assert "<html" not in fragment.text and "1–25 of 30" in fragment.text


async def test_dates_are_days_in_the_readers_time_zone(signed_in, sessionmaker, unique):
    """The reader lives in Africa/Algiers (UTC+1): 23:30 UTC on the 15th is the 16th there."""
    admin = await signed_in("admin")
    await _events(
        sessionmaker,
        {"actor_label": f"night-{unique}", "action": "test.night", "target_type": "note",
         "target_id": "late", "occurred_at": datetime(2021, 3, 15, 23, 30, tzinfo=UTC)},
        {"actor_label": f"night-{unique}", "action": "test.night", "target_type": "note",
         "target_id": "early", "occurred_at": datetime(2021, 3, 15, 9, 0, tzinfo=UTC)},
    )  # fmt: skip

    the_15th = await admin.get(f"/admin/audit?actor={unique}&from=2021-03-15&to=2021-03-15")
    the_16th = await admin.get(f"/admin/audit?actor={unique}&from=2021-03-16")

    assert "early" in the_15th.text and "late" not in the_15th.text
    assert "late" in the_16th.text and "early" not in the_16th.text


async def test_bad_dates_are_explained(signed_in):
    admin = await signed_in("admin")
    answer = await admin.get("/admin/audit?from=2021-13-45&to=yesterday", headers=EN)
    backwards = await admin.get("/admin/audit?from=2021-03-15&to=2021-03-01", headers=EN)

    assert answer.status_code == 422 and "Enter a date like" in answer.text
    assert 'value="2021-13-45"' in answer.text
    assert backwards.status_code == 422
    assert "The end date is before the start date." in backwards.text
    nul = await admin.get("/admin/audit?actor=%00&action=%00x&target_type=%00&target_id=%00")
    assert nul.status_code == 200


async def test_csv_export_has_the_filtered_rows_and_defuses_formulas(
    signed_in, sessionmaker, unique
):
    admin = await signed_in("admin")
    await _events(
        sessionmaker,
        {"actor_label": f"=cmd|' /C calc'!A0 {unique}", "action": "test.export",
         "target_type": "user", "target_id": "+1-555", "user_agent": "@SUM(1+1)",
         "after": {"note": "=not a formula inside JSON"}},
        {"actor_label": f"plain-{unique}@example.dz", "action": "test.export",
         "target_type": "user", "target_id": "-2"},
        {"actor_label": f"other-{unique}@example.dz", "action": "test.other"},
    )  # fmt: skip

    answer = await admin.get(f"/admin/audit.csv?actor={unique}&action=test.export", headers=EN)

    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert answer.headers["content-disposition"].startswith('attachment; filename="audit-')
    rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["Time", "Actor", "Action"]
    assert len(rows) == 3  # the header and the two matching events, not the third
    by_actor = {row[1]: row for row in rows[1:]}
    dangerous = by_actor[f"'=cmd|' /C calc'!A0 {unique}"]
    assert dangerous[4] == "'+1-555" and dangerous[6] == "'@SUM(1+1)"
    assert dangerous[8].startswith("{")
    assert by_actor[f"plain-{unique}@example.dz"][4] == "'-2"
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)

    async with sessionmaker() as db:
        exported = await db.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "audit.exported", AuditEvent.actor_id == admin.person.user.id
            )
        )
        assert [event.after for event in exported] == [{"actor": unique, "action": "test.export"}]


async def test_changes_made_in_the_console_reach_the_log(signed_in, sessionmaker, settings):
    admin = await signed_in("admin")
    page = await admin.get(f"/admin/audit?actor={admin.person.email}", headers=EN)
    assert "auth.login" in page.text
    assert await audit_events(sessionmaker, "auth.login", admin.person.user.id)


@pytest.mark.parametrize("role", ["agent", "team_lead", "customer_owner"])
async def test_audit_log_needs_settings_view(signed_in, role):
    client = await signed_in(role)
    assert (await client.get("/admin/audit")).status_code == 403
    assert (await client.get("/admin/audit.csv")).status_code == 403
