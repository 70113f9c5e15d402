"""Every model, imported here so Alembic and the tests see the whole schema."""

from db.models.app_setting import AppSetting
from db.models.audit import AuditEvent
from db.models.email_outbox import EmailOutbox, EmailStatus
from db.models.identity import (
    ApiToken,
    AuthThrottle,
    BackupCode,
    Customer,
    CustomerKind,
    CustomerStatus,
    OneTimeToken,
    OneTimeTokenPurpose,
    RefreshToken,
    Role,
    Session,
    User,
    UserKind,
    UserRole,
    UserStatus,
)

__all__ = [
    "ApiToken",
    "AppSetting",
    "AuditEvent",
    "AuthThrottle",
    "BackupCode",
    "Customer",
    "CustomerKind",
    "CustomerStatus",
    "EmailOutbox",
    "EmailStatus",
    "OneTimeToken",
    "OneTimeTokenPurpose",
    "RefreshToken",
    "Role",
    "Session",
    "User",
    "UserKind",
    "UserRole",
    "UserStatus",
]
