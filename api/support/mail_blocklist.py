"""The admins' blocklist: senders whose mail goes straight to quarantine. One entry per line,
an address (`sales@spam.example`) or a whole domain (`@spam.example`)."""

from __future__ import annotations

import re

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from api import audit
from api.audit import Actor
from api.support.common import raise_if
from db.models import MailBlocklistEntry
from i18n import N_

_ENTRY = re.compile(r"(?:[^@\s]+)?@[^@\s]+\.[^@\s]+")
LIMIT = 2000


async def blocklist(db: AsyncSession) -> list[str]:
    return list(await db.scalars(select(MailBlocklistEntry.pattern).order_by("pattern")))


async def save_blocklist(db: AsyncSession, actor: Actor, text: str) -> list[str]:
    entries = sorted({line.strip().lower() for line in text.splitlines() if line.strip()})
    wrong = [entry for entry in entries if not _ENTRY.fullmatch(entry) or len(entry) > 320]
    errors: dict = {}
    if wrong:
        errors["entries"] = (
            N_("Not an address or @domain: %(entries)s"),
            {"entries": ", ".join(wrong[:5])},
        )
    elif len(entries) > LIMIT:
        errors["entries"] = (N_("At most %(count)s entries."), {"count": LIMIT})
    raise_if(errors)
    before = await blocklist(db)
    await db.execute(delete(MailBlocklistEntry))
    db.add_all(MailBlocklistEntry(pattern=entry) for entry in entries)
    if before != entries:
        audit.record(
            db, actor, "mail_blocklist.updated", target_type="mail_blocklist",
            before={"entries": before}, after={"entries": entries},
        )  # fmt: skip
    return entries
