"""Blocking IMAP, through imap-tools: read the mail above a UID, flag or move what was handled.
Every function here blocks; the activities call them with `asyncio.to_thread`."""

from __future__ import annotations

import re
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from imap_tools import BaseMailBox, MailBox, MailBoxStartTls, MailBoxUnencrypted

_UID = re.compile(rb"UID (\d+)")
# Fetched per IMAP command: bounded, so one command never carries a huge answer.
FETCH_CHUNK = 25


@dataclass(frozen=True)
class ImapAccount:
    host: str
    port: int
    tls_mode: str  # none | starttls | tls
    username: str
    password: str
    folder: str
    timeout_seconds: float = 30.0


@dataclass
class FetchedMail:
    uid_validity: int
    messages: list[tuple[int, bytes]]  # (uid, raw message), in UID order
    more: bool


@contextmanager
def connected(account: ImapAccount) -> Iterator[BaseMailBox]:
    if account.tls_mode == "tls":
        box: BaseMailBox = MailBox(
            account.host, account.port, timeout=account.timeout_seconds,
            ssl_context=ssl.create_default_context(),
        )  # fmt: skip
    elif account.tls_mode == "starttls":
        box = MailBoxStartTls(
            account.host, account.port, timeout=account.timeout_seconds,
            ssl_context=ssl.create_default_context(),
        )  # fmt: skip
    else:
        box = MailBoxUnencrypted(account.host, account.port, timeout=account.timeout_seconds)
    box.login(account.username, account.password, initial_folder=account.folder)
    try:
        yield box
    finally:
        try:
            box.logout()
        except Exception:  # the session may already be gone; the socket closes anyway
            box.client.shutdown()


def uid_validity(box: BaseMailBox, folder: str) -> int:
    return int(box.folder.status(folder, ["UIDVALIDITY"])["UIDVALIDITY"])


def fetch_after(account: ImapAccount, last_uid: int, limit: int) -> FetchedMail:
    """The raw mail with a UID above `last_uid`, at most `limit`, oldest first."""
    with connected(account) as box:
        validity = uid_validity(box, account.folder)
        # "UID n:*" also answers the highest UID when it is below n: filter on our side.
        uids = sorted(int(uid) for uid in box.uids(f"UID {last_uid + 1}:*") if int(uid) > last_uid)
        chosen = uids[:limit]
        messages: list[tuple[int, bytes]] = []
        for start in range(0, len(chosen), FETCH_CHUNK):
            part = ",".join(str(uid) for uid in chosen[start : start + FETCH_CHUNK])
            status, data = box.client.uid("FETCH", part, "(UID BODY.PEEK[])")
            if status != "OK":
                raise OSError(f"IMAP FETCH answered {status}")
            messages += _messages(data)
        messages.sort()
        return FetchedMail(validity, messages, more=len(uids) > limit)


def mark_processed(account: ImapAccount, uids: list[int], action: str, destination: str) -> None:
    """Flag the mail seen, or move it to `destination`. Mail already moved is not there any
    more: moving or flagging it again does nothing."""
    if not uids:
        return
    with connected(account) as box:
        listed = [str(uid) for uid in uids]
        if action == "move" and destination:
            box.move(listed, destination, chunks=100)
        else:
            box.flag(listed, "\\Seen", True, chunks=100)


def _messages(data: list) -> list[tuple[int, bytes]]:
    """(uid, raw) out of a FETCH answer. Servers put the UID before the literal or after it."""
    found: list[list] = []
    for item in data:
        if isinstance(item, tuple):
            uid = _UID.search(item[0])
            found.append([int(uid.group(1)) if uid else None, item[1]])
        elif isinstance(item, bytes) and found and found[-1][0] is None:
            uid = _UID.search(item)
            if uid:
                found[-1][0] = int(uid.group(1))
    return [(uid, raw) for uid, raw in found if uid is not None]
