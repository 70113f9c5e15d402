"""Every model, imported here so Alembic and the tests see the whole schema."""

from db.models.app_setting import AppSetting
from db.models.audit import AuditEvent
from db.models.email_outbox import EmailOutbox, EmailStatus

__all__ = ["AppSetting", "AuditEvent", "EmailOutbox", "EmailStatus"]
