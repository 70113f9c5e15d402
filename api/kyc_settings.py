"""KYC settings, edited by admins (/admin/kyc): which documents each kind of customer provides,
and the file's timers. Stored as one JSON document (`app_settings`, key `kyc`); a file takes a
snapshot of them when it starts (api.kyc), so a change applies to files started afterwards."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from api import audit
from api.audit import Actor
from api.identity.accounts import InputError
from db.models import AppSetting
from i18n import N_
from workflows.kyc_rules import REQUIREMENTS

KEY = "kyc"
KINDS = ("company", "individual")
# (field, smallest, largest): days, business hours.
LIMITS = {
    "reminder_days": (1, 365),
    "reviewer_reminder_hours": (1, 200),
    "expiry_days": (1, 730),
    "retention_days": (1, 3650),
}


@dataclass
class KycSettings:
    required: dict[str, list[str]] = field(
        default_factory=lambda: {
            "company": ["trade_register", "nif_certificate", "representative_id"],
            "individual": ["national_id", "proof_of_address"],
        }
    )
    reminder_days: int = 7  # documents still missing: remind the customer
    reviewer_reminder_hours: int = 8  # business hours a file may wait for a reviewer
    expiry_days: int = 30  # an incomplete file closes
    retention_days: int = 90  # files of rejected documents and closed files are then removed


async def load(db: AsyncSession) -> KycSettings:
    row = await db.scalar(select(AppSetting).where(AppSetting.key == KEY))
    defaults = KycSettings()
    if row is None:
        return defaults
    stored = {k: v for k, v in row.value.items() if k in asdict(defaults)}
    return KycSettings(**{**asdict(defaults), **stored})


def check(required: dict[str, list[str]], numbers: dict[str, str]) -> KycSettings:
    errors: dict = {}
    chosen = {
        kind: [key for key in REQUIREMENTS if key in required.get(kind, [])] for kind in KINDS
    }
    for kind in KINDS:
        if not chosen[kind]:
            errors[f"required_{kind}"] = (N_("Choose at least one document."), {})
    values: dict[str, int] = {}
    for name, (low, high) in LIMITS.items():
        raw = numbers.get(name, "").strip()
        if not raw.isdigit() or not low <= int(raw) <= high:
            errors[name] = (N_("Enter a whole number from %(low)s to %(high)s."),
                            {"low": low, "high": high})  # fmt: skip
            continue
        values[name] = int(raw)
    if errors:
        raise InputError(errors)
    return KycSettings(required=chosen, **values)


async def save(db: AsyncSession, actor: Actor, settings: KycSettings) -> None:
    before = asdict(await load(db))
    after = asdict(settings)
    await db.execute(
        insert(AppSetting)
        .values(key=KEY, value=after)
        .on_conflict_do_update(index_elements=["key"], set_={"value": after})
    )
    if before != after:
        audit.record(db, actor, "settings.kyc_changed", target_type="settings", target_id=KEY,
                     before=before, after=after)  # fmt: skip
