"""A real IMAP server for tests: Debian's dovecot from a standalone configuration (its own
base_dir under a scratch folder, 127.0.0.1 on a free port, no TLS, mail stored as user
`nobody`). Every user name exists, with the one test password, so each test takes a fresh
account just by naming it (a passwd-file is re-read only when its mtime's second changes, too
coarse for tests adding accounts). Mail arrives with IMAP APPEND, as from any MTA."""

from __future__ import annotations

import imaplib
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

PASSWORD = "imap-test-password"

CONFIG = """\
base_dir = {base}/run
state_dir = {base}/state
log_path = {base}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{base}/mail/%u
first_valid_uid = 0
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
passdb {{
  driver = static
  args = password={password}
}}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home={base}/mail/%u
}}
"""


class ImapServer:
    def __init__(self, base: Path, port: int) -> None:
        self.base = base
        self.port = port
        self.host = "127.0.0.1"
        self._process: subprocess.Popen | None = None

    def start(self) -> None:
        executable = shutil.which("dovecot") or "/usr/sbin/dovecot"
        self.base.mkdir(parents=True, exist_ok=True)
        self.base.chmod(0o755)
        (self.base / "state").mkdir(exist_ok=True)
        mail = self.base / "mail"
        mail.mkdir(exist_ok=True)
        shutil.chown(mail, user="nobody")
        config = self.base / "dovecot.conf"
        config.write_text(CONFIG.format(base=self.base, port=self.port, password=PASSWORD))
        self._process = subprocess.Popen(
            [executable, "-F", "-c", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection((self.host, self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError(f"dovecot did not listen on {self.port}: {self.log()}")

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            # Dovecot's master and its children share the session we started it in.
            os.killpg(self._process.pid, signal.SIGTERM)
            self._process.wait(timeout=10)

    def log(self) -> str:
        path = self.base / "dovecot.log"
        return path.read_text() if path.exists() else ""

    def client(self, username: str, password: str) -> imaplib.IMAP4:
        client = imaplib.IMAP4(self.host, self.port)
        client.login(username, password)
        return client

    def deliver(self, username: str, password: str, *messages: bytes, folder: str = "INBOX"):
        client = self.client(username, password)
        try:
            for raw in messages:
                status, answer = client.append(folder, None, None, raw)
                assert status == "OK", answer
        finally:
            client.logout()

    def uids(self, username: str, password: str, criteria: str = "ALL", folder: str = "INBOX"):
        client = self.client(username, password)
        try:
            client.select(folder)
            status, answer = client.uid("SEARCH", criteria)
            assert status == "OK", answer
            return [int(uid) for uid in answer[0].split()]
        finally:
            client.logout()
