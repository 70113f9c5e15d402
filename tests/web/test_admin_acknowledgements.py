"""Admin console, Support › acknowledgements of mail: each group switches the acknowledgement of
tickets opened by mail on or off and writes its own paragraph; changes are audited, wrong input
comes back with the reason, and the paragraph reaches the sender's acknowledgement."""

from __future__ import annotations

import re
import uuid

from db.models import GroupMailSettings
from tests.support.accounts import make_person
from tests.support.admin import audit_events, form_token
from tests.support.desks import make_desk
from tests.support.mailboxes import mail, make_mailbox, poll

EN = {"Accept-Language": "en"}
PAGE = "/admin/support/acknowledgements"


async def _save(client, group_id: str, **values):
    token = await form_token(client, PAGE)
    return await client.post(f"{PAGE}/{group_id}", data={**values, "csrf_token": token}, headers=EN)


async def test_every_group_is_listed_acknowledging_by_default(signed_in, sessionmaker):
    admin = await signed_in("admin")
    desk = await make_desk(sessionmaker)

    page = await admin.get(PAGE, headers=EN)

    assert page.status_code == 200
    assert re.search(rf'id="ack-{desk.group_id}"[^>]*checked', page.text)


async def test_a_groups_acknowledgement_is_switched_off_with_its_paragraph_and_audited(
    signed_in, sessionmaker
):
    admin = await signed_in("admin")
    desk = await make_desk(sessionmaker)

    answer = await _save(admin, desk.group_id, text="  Urgences : 0550 00 00 00  ")

    assert answer.status_code == 303
    async with sessionmaker() as db:
        saved = await db.get_one(GroupMailSettings, uuid.UUID(desk.group_id))
    assert (saved.acknowledge, saved.acknowledgement_text) == (False, "Urgences : 0550 00 00 00")
    (event,) = await audit_events(
        sessionmaker, "support_group.acknowledgement_updated", desk.group_id
    )
    assert event.after == {"acknowledge": False, "text": "Urgences : 0550 00 00 00"}


async def test_a_paragraph_too_long_is_explained_with_the_input_kept(signed_in, sessionmaker):
    admin = await signed_in("admin")
    desk = await make_desk(sessionmaker)

    answer = await _save(admin, desk.group_id, acknowledge="on", text="x" * 2001)

    assert answer.status_code == 422
    assert "At most 2000 characters." in answer.text
    assert "x" * 2001 in answer.text
    async with sessionmaker() as db:
        assert await db.get(GroupMailSettings, uuid.UUID(desk.group_id)) is None


async def test_agents_cannot_change_acknowledgements(signed_in, sessionmaker):
    agent = await signed_in("agent")
    desk = await make_desk(sessionmaker)
    token = agent.cookies["csrftoken"]

    answer = await agent.post(
        f"{PAGE}/{desk.group_id}", data={"acknowledge": "on", "csrf_token": token}, headers=EN
    )

    assert answer.status_code == 403


async def test_the_groups_paragraph_is_in_the_acknowledgement_of_a_mail(
    signed_in, sessionmaker, settings, temporal_client, worker, imap_server, smtp_sink
):
    admin = await signed_in("admin")
    person = await make_person(sessionmaker, settings)
    desk = await make_desk(sessionmaker, customer_id=person.user.customer_id)
    await _save(admin, desk.group_id, acknowledge="on", text="Astreinte : 0550 00 00 00")
    mailbox = await make_mailbox(sessionmaker, settings, imap_server, group_id=desk.group_id)
    mailbox.deliver(mail(person.email, "Serveur en panne", "Plus rien ne répond."))

    await poll(temporal_client, settings, mailbox)

    (acknowledgement,) = await smtp_sink.wait_for(person.email)
    assert "Astreinte : 0550 00 00 00" in acknowledgement.text
