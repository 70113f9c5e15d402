"""Every email we send, recorded before it leaves, keyed by the idempotency key of the send."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, DateTime, Enum, Index, Integer, String, Text, text, true
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, created_at, uuid_pk


class EmailStatus(enum.StrEnum):
    PENDING = "pending"  # recorded, not yet handed to the SMTP server
    SENDING = "sending"  # handed over; if we never hear back, it may have been delivered
    SENT = "sent"
    DEFERRED = "deferred"  # temporary failure, tried again later (by Temporal or the relay)
    FAILED = "failed"  # permanent failure (5xx, bad address)
    BOUNCED = "bounced"  # a delivery status notification came back


class EmailOutbox(Base):
    __tablename__ = "email_outbox"

    id: Mapped[uuid.UUID] = uuid_pk()
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    message_id: Mapped[str] = mapped_column(String(300), unique=True)
    template: Mapped[str] = mapped_column(String(100))
    locale: Mapped[str] = mapped_column(String(10))
    to_address: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(500))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    # What the email is about, so a ticket or invoice timeline can show its deliveries.
    subject_type: Mapped[str] = mapped_column(String(50), default="", index=True)
    subject_id: Mapped[str] = mapped_column(String(100), default="", index=True)
    # The record inside the subject it is about (a ticket's message), for that record's
    # delivery status.
    related_id: Mapped[str] = mapped_column(String(100), default="", server_default="")
    status: Mapped[EmailStatus] = mapped_column(
        Enum(EmailStatus, name="email_status", values_callable=lambda e: [m.value for m in e]),
        default=EmailStatus.PENDING,
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = created_at()
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # What the message carries besides its content: threading headers decided by the sender's
    # caller, and the RFC 3834 mark that keeps auto-responders quiet.
    headers: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
    automatic: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # Set for the rows queued for the email relay (activities.email_relay): when it next tries
    # them, or, while `sending`, when an attempt that never confirmed is given up on. Rows sent
    # by the `send_email` activity leave it empty: Temporal retries those.
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index(
            "ix_email_outbox_relay_due", "next_attempt_at",
            postgresql_where=text(
                "next_attempt_at IS NOT NULL AND status IN ('pending', 'deferred', 'sending')"
            ),
        ),
    )  # fmt: skip
