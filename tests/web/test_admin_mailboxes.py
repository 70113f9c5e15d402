"""Admin console, Support › mailboxes: created, edited and deleted through the forms, with their
Temporal Schedule kept in line; passwords stored encrypted; connection errors and the last
success shown; the senders' blocklist."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from temporalio.client import ScheduleOverlapPolicy
from temporalio.service import RPCError

from api.support.mailbox_passwords import decrypt_password
from cli.ports import free_port
from db.models import MailBlocklistEntry, Mailbox
from tests.support.admin import audit_events, form_token
from tests.support.mailboxes import poll
from workflows.mailbox_poll import schedule_id

EN = {"Accept-Language": "en"}


def _form(unique: str, **changes) -> dict:
    values = {
        "name": f"Support {unique}", "address": f"support-{unique}@cloudmanager.localhost",
        "host": "127.0.0.1", "port": "993", "tls_mode": "tls", "username": f"support-{unique}",
        "password": "imap secret", "folder": "INBOX", "group_id": "",
        "unknown_sender_policy": "queue", "processed_action": "flag", "processed_folder": "",
        "poll_interval_seconds": "120", "active": "on",
    }  # fmt: skip
    return {**values, **changes}


async def _post(client, path: str, data: dict):
    token = await form_token(client, "/admin/support/mailboxes")
    return await client.post(path, data={**data, "csrf_token": token}, headers=EN)


async def _created(client, sessionmaker, data: dict) -> Mailbox:
    answer = await _post(client, "/admin/support/mailboxes/new", data)
    assert answer.status_code == 303, answer.text[:600]
    async with sessionmaker() as db:
        return await db.scalar(select(Mailbox).where(Mailbox.name == data["name"]))


async def test_a_new_mailbox_is_saved_with_its_password_encrypted_and_audited(
    signed_in, sessionmaker, settings, unique
):
    admin = await signed_in("admin")
    mailbox = await _created(admin, sessionmaker, _form(unique))

    assert "imap secret" not in mailbox.password_encrypted
    assert decrypt_password(settings.secret, mailbox.password_encrypted) == "imap secret"
    (event,) = await audit_events(sessionmaker, "mailbox.created", mailbox.id)
    assert "password" not in str(event.after)


async def test_a_new_mailbox_gets_its_own_schedule_that_skips_overlaps(
    signed_in, sessionmaker, temporal_client, unique
):
    admin = await signed_in("admin")
    mailbox = await _created(admin, sessionmaker, _form(unique))

    described = await temporal_client.get_schedule_handle(schedule_id(str(mailbox.id))).describe()
    assert described.schedule.spec.intervals[0].every == timedelta(seconds=120)
    assert described.schedule.policy.overlap == ScheduleOverlapPolicy.SKIP
    assert not described.schedule.state.paused


async def test_editing_a_mailbox_keeps_its_password_and_updates_its_schedule(
    signed_in, sessionmaker, temporal_client, settings, unique
):
    admin = await signed_in("admin")
    mailbox = await _created(admin, sessionmaker, _form(unique))
    edited = _form(unique, password="", poll_interval_seconds="300", active="")

    answer = await _post(admin, f"/admin/support/mailboxes/{mailbox.id}", edited)

    assert answer.status_code == 303
    async with sessionmaker() as db:
        saved = await db.get(Mailbox, mailbox.id)
    assert decrypt_password(settings.secret, saved.password_encrypted) == "imap secret"
    described = await temporal_client.get_schedule_handle(schedule_id(str(mailbox.id))).describe()
    assert described.schedule.spec.intervals[0].every == timedelta(seconds=300)
    assert described.schedule.state.paused


async def test_deleting_a_mailbox_deletes_its_schedule(
    signed_in, sessionmaker, temporal_client, unique
):
    admin = await signed_in("admin")
    mailbox = await _created(admin, sessionmaker, _form(unique))

    answer = await _post(admin, f"/admin/support/mailboxes/{mailbox.id}/delete", {})

    assert answer.status_code == 303
    with pytest.raises(RPCError):
        await temporal_client.get_schedule_handle(schedule_id(str(mailbox.id))).describe()


@pytest.mark.parametrize(
    ("field", "value"),
    [("address", "not an address"), ("port", "70000"), ("tls_mode", "ssl3"),
     ("poll_interval_seconds", "1"), ("password", ""), ("processed_action", "delete")],
)  # fmt: skip
async def test_a_wrong_field_is_explained_with_the_input_kept(
    signed_in, sessionmaker, unique, field, value
):
    admin = await signed_in("admin")
    answer = await _post(admin, "/admin/support/mailboxes/new", _form(unique, **{field: value}))

    assert answer.status_code == 422
    assert f'id="f-{field}-error"' in answer.text
    assert f"Support {unique}" in answer.text
    async with sessionmaker() as db:
        assert await db.scalar(select(Mailbox).where(Mailbox.name == f"Support {unique}")) is None


async def test_a_connection_error_is_shown_on_the_mailbox_page(
    signed_in, sessionmaker, temporal_client, settings, worker, unique
):
    admin = await signed_in("admin")
    closed = str(free_port())
    mailbox = await _created(admin, sessionmaker, _form(unique, port=closed, tls_mode="none"))

    await poll(temporal_client, settings, type("Box", (), {"id": str(mailbox.id)})())
    page = await admin.get(f"/admin/support/mailboxes/{mailbox.id}", headers=EN)

    assert "ConnectionRefusedError" in page.text
    assert "Never" in page.text


async def test_the_blocklist_keeps_addresses_and_domains(signed_in, sessionmaker, unique):
    admin = await signed_in("admin")
    entries = f"@spam-{unique}.example\nSales@Other-{unique}.example\n"

    answer = await _post(admin, "/admin/support/mailboxes/blocklist", {"entries": entries})

    assert answer.status_code == 303
    async with sessionmaker() as db:
        saved = set(await db.scalars(select(MailBlocklistEntry.pattern)))
    assert {f"@spam-{unique}.example", f"sales@other-{unique}.example"} <= saved


async def test_a_blocklist_entry_that_is_no_address_is_refused(signed_in, unique):
    admin = await signed_in("admin")
    answer = await _post(admin, "/admin/support/mailboxes/blocklist", {"entries": "nonsense"})

    assert answer.status_code == 422
    assert "nonsense" in answer.text


async def test_agents_cannot_change_mailboxes(signed_in, unique):
    agent = await signed_in("agent")
    token = agent.cookies.get("csrftoken")
    answer = await agent.post(
        "/admin/support/mailboxes/new", data={**_form(unique), "csrf_token": token}
    )
    assert answer.status_code == 403
