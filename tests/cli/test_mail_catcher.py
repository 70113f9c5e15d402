"""`make run` catches outgoing mail in files when no real SMTP server is configured."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib

from cli.mail_catcher import catcher_for
from cli.ports import free_port


async def test_mail_sent_to_the_catcher_is_kept_as_an_eml_file(scratch_dir: Path, unique):
    port = free_port()
    catcher = catcher_for("127.0.0.1", port, scratch_dir / unique)
    assert catcher is not None
    catcher.start()
    try:
        message = EmailMessage()
        message["From"] = "support@cloudmanager.localhost"
        message["To"] = "client@example.dz"
        message["Subject"] = "Vérifiez votre adresse"
        message.set_content("Lien : https://example.dz/verify/abc")
        await aiosmtplib.send(message, hostname="127.0.0.1", port=port)

        (kept,) = catcher.kept()
        assert kept.parent == scratch_dir / unique / "mail"
        parsed = message_from_bytes(kept.read_bytes(), policy=policy.default)
        assert parsed["Subject"] == "Vérifiez votre adresse"
        assert "https://example.dz/verify/abc" in parsed.get_content()
    finally:
        catcher.stop()


def test_a_server_already_listening_on_the_port_is_used_instead(scratch_dir: Path):
    port = free_port()
    first = catcher_for("127.0.0.1", port, scratch_dir)
    assert first is not None
    first.start()
    try:
        assert catcher_for("127.0.0.1", port, scratch_dir) is None
    finally:
        first.stop()


def test_a_relay_on_another_host_is_not_replaced(scratch_dir: Path):
    assert catcher_for("smtp.example.dz", free_port(), scratch_dir) is None
