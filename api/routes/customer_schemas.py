"""What /api/v1/customers answers: customers with their KYC file, as integrators see them.

A customer token reads its own company only, without what the provider keeps for itself (the
segment, the reason given for a status, the staff's notes, which never leave the back-office).
Document bytes never travel here: the list says what was sent and what the reviewers decided.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from db.models import Customer, CustomerAddress, CustomerDocument
from db.queries.customers import CustomerRow


class CustomerOut(BaseModel):
    id: uuid.UUID
    name: str
    kind: str = Field(description="`company` or `individual`.")
    status: str = Field(
        description="`prospect`, `pending_validation`, `active`, `suspended` or `closed`."
    )
    kyc_state: str = Field(
        description="`not_started`, `collecting`, `in_review`, `rejected`, `approved`, "
        "`expired` or `closed`."
    )
    email: str
    nif: str | None
    rc: str | None
    national_id: str | None
    segment: str | None = Field(description="Staff tokens only; null for customer tokens.")
    users: int
    created_at: datetime


class CustomerPage(BaseModel):
    items: list[CustomerOut]
    total: int
    page: int
    per_page: int
    pages: int


class AddressOut(BaseModel):
    kind: str = Field(description="`billing` or `technical`.")
    line1: str
    line2: str
    postal_code: str
    city: str
    region: str = Field(description="The wilaya.")
    country: str


class KycDocumentOut(BaseModel):
    id: uuid.UUID
    requirement: str = Field(description="Which required document this is, e.g. `rc`.")
    filename: str
    content_type: str
    size: int
    uploaded_at: datetime
    kyc_round: int | None
    review_status: str | None = Field(
        description="`uploaded`, `submitted`, `approved` or `rejected`; null outside KYC."
    )
    review_reason: str
    reviewed_at: datetime | None


class KycOut(BaseModel):
    state: str
    round: int
    submitted_at: datetime | None
    decided_at: datetime | None
    documents: list[KycDocumentOut]


class CustomerDetail(CustomerOut):
    legal_name: str
    trade_name: str
    legal_form: str
    nis: str | None
    article_imposition: str | None
    phone: str
    mobile: str
    preferred_language: str
    status_reason: str | None = Field(description="Staff tokens only; null for customer tokens.")
    addresses: list[AddressOut]
    kyc: KycOut


def summary_of(row: CustomerRow, *, staff: bool) -> CustomerOut:
    return CustomerOut(
        id=row.id, name=row.name, kind=row.kind.value, status=row.status.value,
        kyc_state=row.kyc_state, email=row.email, nif=row.nif, rc=row.rc,
        national_id=row.national_id, segment=row.segment if staff else None, users=row.users,
        created_at=row.created_at,
    )  # fmt: skip


def detail_of(
    customer: Customer,
    users: int,
    addresses: list[CustomerAddress],
    documents: list[CustomerDocument],
    *,
    staff: bool,
) -> CustomerDetail:
    return CustomerDetail(
        id=customer.id, name=customer.name, kind=customer.kind.value,
        status=customer.status.value, kyc_state=customer.kyc_state, email=customer.email,
        nif=customer.nif, rc=customer.rc, national_id=customer.national_id,
        segment=customer.segment if staff else None, users=users,
        created_at=customer.created_at, legal_name=customer.legal_name,
        trade_name=customer.trade_name, legal_form=customer.legal_form, nis=customer.nis,
        article_imposition=customer.article_imposition, phone=customer.phone,
        mobile=customer.mobile, preferred_language=customer.preferred_language,
        status_reason=customer.status_reason if staff else None,
        addresses=[AddressOut.model_validate(address, from_attributes=True)
                   for address in addresses],
        kyc=KycOut(
            state=customer.kyc_state, round=customer.kyc_round,
            submitted_at=customer.kyc_submitted_at, decided_at=customer.kyc_decided_at,
            documents=[KycDocumentOut.model_validate(document, from_attributes=True)
                       for document in documents],
        ),
    )  # fmt: skip
