"""KYC business rules: pure functions over the file's documents, no Temporal, no I/O.

States: `collecting` (documents awaited), `in_review`, `rejected` (something to correct),
`approved`, `expired` (incomplete for too long), `closed` (the customer left).
"""

from __future__ import annotations

from i18n import N_
from workflows.kyc_messages import DocumentState

# Every document a file may ask for (admins choose among them per kind of customer), with its
# name as an msgid: pages and emails translate it for their reader.
REQUIREMENTS: dict[str, str] = {
    "trade_register": N_("Trade register extract (registre de commerce)"),
    "nif_certificate": N_("NIF certificate"),
    "nis_certificate": N_("NIS certificate"),
    "articles_of_association": N_("Articles of association (statuts)"),
    "representative_id": N_("Identity document of the legal representative"),
    "national_id": N_("National identity card"),
    "proof_of_address": N_("Proof of address"),
}

SUBMITTABLE = frozenset({"collecting", "rejected", "expired"})
WAITING_ON_CUSTOMER = frozenset({"collecting", "rejected"})


def satisfied(required: list[str], documents: list[DocumentState]) -> set[str]:
    """Requirements with an approved document."""
    return {d.requirement for d in documents if d.decision == "approved"} & set(required)


def missing_after(
    required: list[str], documents: list[DocumentState], submitted: list[str]
) -> list[str]:
    """Requirements that would still have no document if `submitted` (requirement keys) went
    in for review now."""
    covered = satisfied(required, documents) | set(submitted)
    return [key for key in required if key not in covered]


def round_outcome(documents: list[DocumentState], round_: int) -> str | None:
    """None while a document of the round awaits its decision; else `rejected` when any was
    rejected, `approved` when all were approved."""
    current = [d for d in documents if d.round == round_]
    if not current or any(d.decision is None for d in current):
        return None
    return "rejected" if any(d.decision == "rejected" for d in current) else "approved"


def file_approved(required: list[str], documents: list[DocumentState]) -> bool:
    return satisfied(required, documents) == set(required)
