"""`cloudmanager relay`, the email relay in a process of its own (as `make run` and the compose
file start it): it sends what a transaction queued, keeps its heartbeat file fresh, and when told
to stop it finishes the email in hand rather than cutting it off."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import select

from activities.email import EmailActivities
from db.models import EmailOutbox, EmailStatus
from tests.support.worker_process import environment
from workflows.outbound_email import SendEmail
from workflows.worker import smtp_config

ROOT = Path(__file__).resolve().parents[2]


async def _status(sessionmaker, key: str) -> EmailStatus:
    async with sessionmaker() as session:
        return await session.scalar(
            select(EmailOutbox.status).where(EmailOutbox.idempotency_key == key)
        )


async def _wait_for_status(sessionmaker, key: str, status: EmailStatus, within: float) -> None:
    deadline = time.monotonic() + within
    while (found := await _status(sessionmaker, key)) != status:
        assert time.monotonic() < deadline, f"{key} stayed {found}, never {status}"
        await asyncio.sleep(0.05)


async def test_the_relay_process_sends_the_outbox_and_finishes_the_email_in_hand_on_sigterm(
    settings, sessionmaker, smtp_sink, scratch_dir: Path, unique
):
    address = f"relay-process-{unique}@example.dz"
    # The SMTP server takes its time over this message: SIGTERM arrives while it is in hand.
    smtp_sink.delays[address] = 1.5
    heartbeat = scratch_dir / f"relay-{unique}.alive"
    log = scratch_dir / f"relay-{unique}.log"
    with log.open("ab") as output:
        relay = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "cli.main", "relay", "--heartbeat", str(heartbeat),
            env=environment(settings), stdout=output, stderr=subprocess.STDOUT, cwd=ROOT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while not heartbeat.exists():  # a first pass over the outbox: it is listening
            assert relay.returncode is None, log.read_text()
            assert time.monotonic() < deadline, "no heartbeat within 20 s"
            await asyncio.sleep(0.1)

        request = SendEmail(
            idempotency_key=f"relay-process:{unique}", to=address, template="test_message",
            context={"sender": "Amina"}, locale="en",
        )  # fmt: skip
        emails = EmailActivities(sessionmaker, smtp_config(settings))
        async with sessionmaker() as session, session.begin():
            await emails.queue(session, [request], for_relay=True)
        # The tests' worker may run a relay in this event loop, woken by the same NOTIFY: held
        # here (a blocking sleep on purpose), it cannot lease the row before the process does.
        time.sleep(1.0)  # noqa: ASYNC251
        await _wait_for_status(sessionmaker, request.idempotency_key, EmailStatus.SENDING, 10)

        relay.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(relay.wait(), 15) == 0, log.read_text()
        # Finished before the process exited, not cut off mid-message (which would leave the
        # row `sending` and the message never received).
        assert await _status(sessionmaker, request.idempotency_key) == EmailStatus.SENT
        [mail] = smtp_sink.to(address)
        assert mail.message["Subject"]
        assert "email relay stopping" in log.read_text()
    finally:
        if relay.returncode is None:
            relay.kill()
            await relay.wait()
