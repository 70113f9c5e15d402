"""Who hears about a KYC event, and what they read: the customer's active owners (all its active
users when it has none) for the customer's kinds, the staff who may validate for the reviewers'
reminder. Each email is keyed per recipient under the workflow's notice key."""

from __future__ import annotations

import uuid

from sqlalchemy import any_, literal, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from db.models import Customer, Role, User, UserKind, UserRole, UserStatus
from workflows.kyc import PLAN_KYC_NOTIFICATIONS
from workflows.kyc_messages import KycEmails, KycNotice
from workflows.kyc_rules import REQUIREMENTS
from workflows.outbound_email import SendEmail

TEMPLATE = "kyc_notification"
STAFF_KINDS = frozenset({"reviewer_reminder"})


class KycNotificationActivities:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], base_url: str) -> None:
        self._sessionmaker = sessionmaker
        self._base_url = base_url

    @activity.defn(name=PLAN_KYC_NOTIFICATIONS)
    async def plan_kyc_notifications(self, notice: KycNotice) -> KycEmails:
        async with self._sessionmaker() as db:
            customer = await db.get(Customer, uuid.UUID(notice.customer_id))
            if customer is None:
                return KycEmails()
            for_staff = notice.kind in STAFF_KINDS
            recipients = await (_reviewers(db) if for_staff else _customer_people(db, customer))
            url = (
                f"{self._base_url}/staff/kyc/{customer.id}"
                if for_staff
                else f"{self._base_url}/portal/kyc"
            )
            context = {
                "kind": notice.kind,
                "customer": customer.name,
                "url": url,
                "rejected": [
                    {"document": REQUIREMENTS.get(item["requirement"], item["requirement"]),
                     "reason": item["reason"]}
                    for item in notice.data.get("rejected", [])
                ],
                "missing": [REQUIREMENTS.get(key, key) for key in notice.data.get("missing", [])],
            }  # fmt: skip
            return KycEmails(
                [
                    SendEmail(
                        idempotency_key=f"{notice.key}:{user.id}",
                        to=user.email,
                        template=TEMPLATE,
                        context={**context, "name": user.full_name},
                        locale=user.locale,
                        subject_type="customer",
                        subject_id=str(customer.id),
                        automatic=True,
                    )
                    for user in recipients
                ]
            )


async def _customer_people(db: AsyncSession, customer: Customer) -> list[User]:
    active = (
        select(User)
        .where(User.customer_id == customer.id, User.status == UserStatus.ACTIVE)
        .order_by(User.created_at, User.id)
    )
    owners = list(
        await db.scalars(
            active.join(UserRole, UserRole.user_id == User.id)
            .join(Role, Role.id == UserRole.role_id)
            .where(Role.key == "customer_owner")
        )
    )
    return owners or list(await db.scalars(active))


async def _reviewers(db: AsyncSession) -> list[User]:
    rows = await db.scalars(
        select(User)
        .join(UserRole, UserRole.user_id == User.id)
        .join(Role, Role.id == UserRole.role_id)
        .where(
            User.kind == UserKind.STAFF,
            User.status == UserStatus.ACTIVE,
            literal("customers.validate") == any_(Role.permissions),
        )
        .distinct()
        .order_by(User.id)
    )
    return list(rows)
