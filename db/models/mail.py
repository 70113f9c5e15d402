"""Mail-to-ticket: the IMAP mailboxes we poll, every inbound mail we took in (one row per
Message-ID, whatever the number of times or mailboxes it came through), and what keeps mail from
looping: the senders we acknowledged lately, the addresses that bounce, the admins' blocklist.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, created_at, uuid_pk

TLS_MODES = ("none", "starttls", "tls")
UNKNOWN_SENDER_POLICIES = ("queue", "reject")
PROCESSED_ACTIONS = ("flag", "move")
MAIL_KINDS = ("normal", "auto_reply", "bounce", "spam")
# What became of an inbound mail: a new ticket, a message on an existing one, held for an agent
# (doubtful threading), quarantined (spam), a bounce (recorded on the outbound mail), politely
# rejected (unknown sender), ignored (our own mail coming back); then an agent's decision on a
# held or quarantined one: accepted as a ticket, attached to one, discarded.
INBOUND_STATUSES = (
    "ticket", "reply", "held", "quarantined", "bounce", "rejected", "ignored",
    "accepted", "attached", "discarded",
)  # fmt: skip


def _one_of(column: str, values: tuple[str, ...]) -> CheckConstraint:
    listed = ", ".join(f"'{value}'" for value in values)
    return CheckConstraint(f"{column} IN ({listed})", name=f"{column}_known")


class Mailbox(Base):
    """An IMAP folder polled by its own Temporal Schedule (`mailbox-{id}`). The password is
    encrypted with a key derived from SECRET_KEY; `last_uid` only moves once a message's effects
    are committed, so a crash re-reads mail rather than losing it."""

    __tablename__ = "mailboxes"
    __table_args__ = (
        _one_of("tls_mode", TLS_MODES),
        _one_of("unknown_sender_policy", UNKNOWN_SENDER_POLICIES),
        _one_of("processed_action", PROCESSED_ACTIONS),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(String(120), unique=True)
    # The address customers write to: mail from it is our own, never answered.
    address: Mapped[str] = mapped_column(String(320))
    host: Mapped[str] = mapped_column(String(255))
    port: Mapped[int] = mapped_column(Integer)
    tls_mode: Mapped[str] = mapped_column(String(10), default="tls")
    username: Mapped[str] = mapped_column(String(320))
    password_encrypted: Mapped[str] = mapped_column(Text)
    folder: Mapped[str] = mapped_column(String(200), default="INBOX")
    group_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("support_groups.id", ondelete="SET NULL")
    )
    unknown_sender_policy: Mapped[str] = mapped_column(String(10), default="queue")
    processed_action: Mapped[str] = mapped_column(String(10), default="flag")
    processed_folder: Mapped[str] = mapped_column(String(200), default="")
    poll_interval_seconds: Mapped[int] = mapped_column(Integer, default=60)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    uid_validity: Mapped[int | None] = mapped_column(BigInteger)
    last_uid: Mapped[int] = mapped_column(BigInteger, default=0)
    last_success_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str] = mapped_column(Text, default="")
    last_error_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = created_at()


class InboundMessage(Base):
    """One inbound mail. The id is derived from the Message-ID, and is also the ticket message's
    id (and the ticket's, when the mail opens one): every retry lands on the same rows. The raw
    message is kept under `uploads/<raw_sha256>`; `body` is the new part shown in the
    conversation, `full_text` and `html` (sanitised) the whole mail for the "original" view."""

    __tablename__ = "inbound_messages"
    __table_args__ = (
        _one_of("kind", MAIL_KINDS),
        _one_of("status", INBOUND_STATUSES),
        Index("ix_inbound_messages_status", "status", "received_at"),
        Index("ix_inbound_messages_ticket", "ticket_id"),
        Index(
            "ix_inbound_messages_unapplied",
            "mailbox_id",
            postgresql_where=text("applied_at IS NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    message_id: Mapped[str] = mapped_column(String(500), unique=True)
    mailbox_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("mailboxes.id", ondelete="SET NULL")
    )
    from_address: Mapped[str] = mapped_column(String(320), default="")
    from_name: Mapped[str] = mapped_column(String(200), default="")
    subject: Mapped[str] = mapped_column(String(200), default="")
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    received_at: Mapped[datetime] = created_at()
    raw_sha256: Mapped[str] = mapped_column(String(64))
    raw_size: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(12))
    kind_reason: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(12))
    # Why it was held, quarantined or rejected, in a word the pages translate.
    reason: Mapped[str] = mapped_column(String(40), default="")
    # The ticket it opened or joined (no foreign key: the decision is recorded before the
    # ticket's workflow has written its row).
    ticket_id: Mapped[uuid.UUID | None] = mapped_column()
    customer_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL")
    )
    author_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text, default="")
    full_text: Mapped[str] = mapped_column(Text, default="")
    html: Mapped[str] = mapped_column(Text, default="")
    # The files kept, as the ticket workflow's `Attachment` records, and those refused, why.
    attachments: Mapped[list[dict]] = mapped_column(JSONB, server_default=text("'[]'"))
    refused_files: Mapped[list[dict]] = mapped_column(JSONB, server_default=text("'[]'"))
    # Set once the decision's effects are committed (ticket started or signalled, reply sent).
    applied_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decided_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class MailBlocklistEntry(Base):
    """A sender whose mail goes to quarantine: an address, or a whole domain as `@domain`."""

    __tablename__ = "mail_blocklist"

    pattern: Mapped[str] = mapped_column(String(320), primary_key=True)
    created_at: Mapped[datetime] = created_at()


class UndeliverableAddress(Base):
    """An address a permanent (5.x.x) bounce came back for: notifications skip it until an
    agent clears it."""

    __tablename__ = "undeliverable_addresses"

    address: Mapped[str] = mapped_column(String(320), primary_key=True)
    status: Mapped[str] = mapped_column(String(10))
    outbox_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("email_outbox.id", ondelete="SET NULL")
    )
    bounced_at: Mapped[datetime] = created_at()


class MailAcknowledgement(Base):
    """The last automatic answer (acknowledgement or polite rejection) a sender got: at most one
    per sender per 24 hours, decided by one guarded upsert. `last_key` names the mail that was
    answered, so a retry of the same decision is allowed again."""

    __tablename__ = "mail_acknowledgements"

    address: Mapped[str] = mapped_column(String(320), primary_key=True)
    last_sent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_key: Mapped[str] = mapped_column(String(200))


class GroupMailSettings(Base):
    """A support group's acknowledgement of new tickets by email: on or off, and the group's own
    paragraph in it."""

    __tablename__ = "group_mail_settings"

    group_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("support_groups.id", ondelete="CASCADE"), primary_key=True
    )
    acknowledge: Mapped[bool] = mapped_column(Boolean, default=True)
    acknowledgement_text: Mapped[str] = mapped_column(Text, default="")
