"""Every email we send, recorded before it leaves, keyed by the idempotency key of the send."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import DateTime, Enum, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, created_at, uuid_pk


class EmailStatus(enum.StrEnum):
    PENDING = "pending"  # recorded, not yet handed to the SMTP server
    SENDING = "sending"  # handed over; if we never hear back, it may have been delivered
    SENT = "sent"
    DEFERRED = "deferred"  # temporary failure, Temporal retries the activity
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
