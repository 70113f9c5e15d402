"""The SMTP server `make run` answers on when no real one is configured.

Without it every notification of a demo (verification links, ticket replies, KYC decisions)
would sit in the outbox retrying against a closed port. It keeps each message as an .eml file
under DATA_DIR/mail, newest last by name, which any mail program or text editor opens; nothing
leaves the machine.
"""

from __future__ import annotations

import logging
import os
import uuid
from datetime import UTC, datetime
from pathlib import Path

from aiosmtpd.controller import Controller

from cli.ports import is_listening

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


class _KeepAsFile:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def handle_DATA(self, server, session, envelope) -> str:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        final = self.directory / f"{stamp}-{uuid.uuid4().hex[:8]}.eml"
        # Written aside then renamed, so a reader polling the folder never opens half a message.
        partial = final.with_suffix(".part")
        partial.write_bytes(envelope.original_content or envelope.content)
        os.replace(partial, final)
        return "250 Message kept"


class MailCatcher:
    def __init__(self, directory: Path, port: int, host: str = "127.0.0.1") -> None:
        self.directory = directory
        self.port = port
        self._controller = Controller(_KeepAsFile(directory), hostname=host, port=port)

    def start(self) -> None:
        # aiosmtpd tells of every connection at INFO: five lines per email in the console.
        logging.getLogger("mail.log").setLevel(logging.WARNING)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()

    def kept(self) -> list[Path]:
        return sorted(self.directory.glob("*.eml"))


def catcher_for(smtp_host: str, smtp_port: int, data_dir: Path) -> MailCatcher | None:
    """A catcher when mail is meant for this machine and nothing listens there yet.

    A configured relay elsewhere, or a mail tool the developer already runs on that port, is used
    as it is.
    """
    if smtp_host not in LOOPBACK_HOSTS or is_listening(smtp_port):
        return None
    return MailCatcher(data_dir / "mail", smtp_port)
