"""Words for customer and KYC values, as msgids: templates translate them with `_()`, the CSV
export with `translate`. Keys are the stored values."""

from __future__ import annotations

from i18n import N_

STATUS = {
    "prospect": N_("Prospect"),
    "pending_validation": N_("Pending validation"),
    "active": N_("Active"),
    "suspended": N_("Suspended"),
    "closed": N_("Closed"),
}
# Badge colour per status.
STATUS_TONE = {
    "prospect": "info",
    "pending_validation": "warning",
    "active": "ok",
    "suspended": "danger",
    "closed": "muted",
}
KIND = {"company": N_("Company"), "individual": N_("Individual")}
KYC = {
    "not_started": N_("Not started"),
    "collecting": N_("Documents awaited"),
    "in_review": N_("In review"),
    "rejected": N_("To correct"),
    "approved": N_("Approved"),
    "expired": N_("Expired"),
    "closed": N_("Closed"),
}
KYC_TONE = {
    "not_started": "muted",
    "collecting": "info",
    "in_review": "warning",
    "rejected": "danger",
    "approved": "ok",
    "expired": "muted",
    "closed": "muted",
}
REVIEW = {
    "uploaded": N_("Not submitted yet"),
    "submitted": N_("In review"),
    "approved": N_("Approved"),
    "rejected": N_("Rejected"),
}
REVIEW_TONE = {"uploaded": "info", "submitted": "warning", "approved": "ok", "rejected": "danger"}

# The customer timeline's words for audit actions; others show as recorded.
TIMELINE = {
    "customer.updated": N_("Profile changed"),
    "customer.status_changed": N_("Status changed"),
    "customer.document_added": N_("Document added"),
    "customer.document_deleted": N_("Document deleted"),
    "customer.note_added": N_("Internal note added"),
    "customer.exported": N_("Data exported"),
    "customer.anonymised": N_("Personal data anonymised"),
    "kyc.submitted": N_("KYC documents submitted"),
    "kyc.document_approved": N_("KYC document approved"),
    "kyc.document_rejected": N_("KYC document rejected"),
    "kyc.approved": N_("KYC approved"),
    "kyc.rejected": N_("KYC file sent back for corrections"),
    "kyc.expired": N_("KYC file expired"),
    "kyc.closed": N_("KYC file closed"),
    "kyc.files_removed": N_("KYC files removed after the retention period"),
    "user.updated": N_("User changed"),
    "user.deactivated": N_("User deactivated"),
    "user.reactivated": N_("User reactivated"),
    "user.invited": N_("User invited"),
}

CUSTOMER_LABELS = {
    "status": STATUS,
    "status_tone": STATUS_TONE,
    "kind": KIND,
    "kyc": KYC,
    "kyc_tone": KYC_TONE,
    "review": REVIEW,
    "review_tone": REVIEW_TONE,
    "timeline": TIMELINE,
}
