"""KYC activities: the only code that writes what KycWorkflow decides. Each runs in one
transaction and is idempotent: the projection moves only to a newer `seq`, documents change only
from the status they are expected in, and the audit event is written only with the change it
describes (a retry that finds the change made writes nothing)."""

from __future__ import annotations

import uuid
from pathlib import Path

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from db import file_store
from db.models import AuditEvent, Customer, CustomerDocument, CustomerStatus
from workflows.kyc import RECORD_KYC_CHANGE, REMOVE_KYC_FILES
from workflows.kyc_messages import FileRemoval, KycChange


def _ids(values: list[str]) -> list[uuid.UUID]:
    return [uuid.UUID(value) for value in values]


class KycActivities:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], uploads_path: Path) -> None:
        self._sessionmaker = sessionmaker
        self._uploads = uploads_path

    @activity.defn(name=RECORD_KYC_CHANGE)
    async def record_kyc_change(self, change: KycChange) -> None:
        customer_id = uuid.UUID(change.customer_id)
        async with self._sessionmaker() as db, db.begin():
            moved = await db.execute(
                update(Customer)
                .where(Customer.id == customer_id, Customer.kyc_seq < change.seq)
                .values(
                    kyc_seq=change.seq, kyc_state=change.state, kyc_round=change.round,
                    kyc_submitted_at=change.submitted_at, kyc_decided_at=change.decided_at,
                )
            )  # fmt: skip
            if moved.rowcount == 0:
                return  # this change (or a newer one) is already on record
            if change.submitted_ids:
                await db.execute(
                    update(CustomerDocument)
                    .where(
                        CustomerDocument.id.in_(_ids(change.submitted_ids)),
                        CustomerDocument.customer_id == customer_id,
                        CustomerDocument.review_status == "uploaded",
                    )
                    .values(review_status="submitted", kyc_round=change.round)
                )
            if change.decision is not None:
                await _decide(db, customer_id, change)
            before_status = None
            if change.customer_status:
                movable = [CustomerStatus(status) for status in change.customer_status_from]
                before_status = await db.scalar(
                    update(Customer)
                    .where(
                        Customer.id == customer_id,
                        Customer.status.in_(movable),
                    )
                    .values(status=CustomerStatus(change.customer_status),
                            status_changed_at=func.now())
                    .returning(Customer.status)
                )  # fmt: skip
            data = dict(change.data)
            if before_status is not None:
                data["customer_status"] = change.customer_status
            db.add(
                AuditEvent(
                    actor_id=uuid.UUID(change.actor_id) if change.actor_id else None,
                    actor_label=change.actor_label[:320], action=change.action,
                    target_type="customer", target_id=change.customer_id,
                    after={"state": change.state, "round": change.round, **data},
                )
            )  # fmt: skip

    @activity.defn(name=REMOVE_KYC_FILES)
    async def remove_kyc_files(self, removal: FileRemoval) -> None:
        """Past the retention period: the bytes go, the rows (what was received, when, what
        was decided) stay."""
        customer_id = uuid.UUID(removal.customer_id)
        async with self._sessionmaker() as db, db.begin():
            chosen = CustomerDocument.id.in_(_ids(removal.document_ids))
            if removal.file_closed_at is not None:
                never_submitted = and_(
                    CustomerDocument.requirement != "",
                    CustomerDocument.review_status == "uploaded",
                    CustomerDocument.uploaded_at <= removal.file_closed_at,
                )
                chosen = or_(chosen, never_submitted)
            documents = list(
                await db.scalars(
                    select(CustomerDocument)
                    .where(
                        chosen,
                        CustomerDocument.customer_id == customer_id,
                        CustomerDocument.file_removed_at.is_(None),
                    )
                    .with_for_update()
                )
            )
            if not documents:
                return
            now = await db.scalar(select(func.now()))
            for document in documents:
                document.file_removed_at = now
            await db.flush()
            for sha256 in {document.sha256 for document in documents}:
                await file_store.remove_unreferenced(db, self._uploads, sha256)
            db.add(
                AuditEvent(
                    actor_label="system", action="kyc.files_removed", target_type="customer",
                    target_id=removal.customer_id,
                    after={"documents": [str(document.id) for document in documents]},
                )
            )  # fmt: skip


async def _decide(db: AsyncSession, customer_id: uuid.UUID, change: KycChange) -> None:
    decision = change.decision
    await db.execute(
        update(CustomerDocument)
        .where(
            CustomerDocument.id == uuid.UUID(decision.document_id),
            CustomerDocument.customer_id == customer_id,
            CustomerDocument.review_status == "submitted",
        )
        .values(
            review_status="approved" if decision.approve else "rejected",
            review_reason=decision.reason,
            reviewed_by_id=uuid.UUID(decision.reviewer_id),
            reviewed_at=func.now(),
        )
    )
