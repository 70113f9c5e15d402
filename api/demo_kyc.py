"""Demo data for KYC: a prospect company, Sahara Cloud SARL, whose owner uploaded its three
documents (small PDFs rendered here) and submitted them, so `make run` opens on a KYC queue with
one file to review. Its owner signs in as owner@sahara-cloud.dz with the demo password."""

from __future__ import annotations

import asyncio
import hashlib
import io

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api import customer_documents, kyc
from api.attachments import PendingFile
from api.audit import SYSTEM
from api.identity import roles
from api.identity.passwords import hash_password
from api.settings import Settings
from api.temporal import connect_temporal
from db.models import Customer, CustomerKind, CustomerStatus, User, UserKind
from db.session import create_engine, create_sessionmaker
from workflows.kyc import KycWorkflow, workflow_id
from workflows.kyc_messages import DocumentsSubmitted, SubmittedDocument

COMPANY = "Sahara Cloud SARL"
OWNER = ("owner@sahara-cloud.dz", "Yasmine Saadi")
DOCUMENTS = {
    "trade_register": "Extrait du registre de commerce",
    "nif_certificate": "Attestation d'immatriculation fiscale (NIF)",
    "representative_id": "Carte nationale d'identité du gérant",
}


def _pdf(title: str) -> bytes:
    from weasyprint import HTML  # loaded only when the demo is seeded

    html = f"<h1>{title}</h1><p>{COMPANY} — document de démonstration.</p>"
    return HTML(string=html).write_pdf()


async def prospect_with_documents(db: AsyncSession, settings: Settings) -> None:
    from api.demo_data import DEMO_PASSWORD  # the one published demo password

    customer = Customer(
        kind=CustomerKind.COMPANY, name=COMPANY, legal_name=COMPANY, legal_form="SARL",
        status=CustomerStatus.PROSPECT, nif="000030012345678", nis="000130010054321",
        rc="30/00-0123456B24", article_imposition="30012345678", preferred_language="fr",
    )  # fmt: skip
    db.add(customer)
    await db.flush()
    owner = User(
        email=OWNER[0], full_name=OWNER[1], kind=UserKind.CUSTOMER, customer_id=customer.id,
        locale="fr", time_zone=settings.time_zone,
        password_hash=await hash_password(DEMO_PASSWORD),
        email_verified_at=await db.scalar(select(func.now())),
    )  # fmt: skip
    db.add(owner)
    await db.flush()
    await roles.assign_roles(db, owner.id, [(await roles.role_by_key(db, "customer_owner")).id])
    for requirement, title in DOCUMENTS.items():
        content = await asyncio.to_thread(_pdf, title)
        file = PendingFile(
            f"{requirement}.pdf", "application/pdf", len(content),
            hashlib.sha256(content).hexdigest(), io.BytesIO(content),
        )  # fmt: skip
        await customer_documents.attach(
            db, settings, SYSTEM, customer.id, [file], requirement=requirement, by_staff=False
        )


async def submit_for_review(settings: Settings) -> None:
    engine = create_engine(settings.sqlalchemy_url, pool_size=1)
    try:
        async with create_sessionmaker(engine)() as db:
            customer = await db.scalar(select(Customer).where(Customer.name == COMPANY))
            if customer is None:
                return
            client = await connect_temporal(settings)
            await kyc.ensure_started(client, db, settings, customer)
            drafts = await kyc.drafts(db, customer.id)
            owner_id = await db.scalar(select(User.id).where(User.email == OWNER[0]))
        submission = DocumentsSubmitted(
            f"demo-{customer.id}", str(owner_id),
            [SubmittedDocument(str(d.id), d.requirement) for d in drafts],
        )  # fmt: skip
        handle = client.get_workflow_handle_for(KycWorkflow.run, workflow_id(str(customer.id)))
        await handle.signal(KycWorkflow.documents_submitted, submission)
    finally:
        await engine.dispose()
