"""Canned replies: reusable answers agents insert into a reply. The body is a Jinja template run
in a sandbox over a few documented variables; it is checked when saved (syntax, unknown
variables, and a trial rendering with sample values), so an agent never meets a broken one."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError, meta
from jinja2.sandbox import SandboxedEnvironment, SecurityError
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api import audit
from api.audit import Actor
from api.support.common import NotFound, check_name, raise_if, record_changes
from db.models import CannedReply
from i18n import N_

CATEGORY_LIMIT = 80
BODY_LIMIT = 10_000
# What a body may use, with the values the trial rendering gives them.
SAMPLE_VALUES: dict[str, dict[str, str]] = {
    "customer": {"name": "Atlas Numérique SARL"},
    "ticket": {"number": "TCK-2026-000123", "subject": "Serveur inaccessible"},
    "agent": {"name": "Yacine Mansouri"},
    "requester": {"name": "Amina Benali"},
}
VARIABLES = tuple(f"{name}.{field}" for name, fields in SAMPLE_VALUES.items() for field in fields)

# Plain text (the reply is escaped where it is shown); StrictUndefined makes `customer.nmae` an
# error at save time instead of an empty string in front of a customer.
_TEMPLATES = SandboxedEnvironment(
    undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True
)


@dataclass
class CannedReplyForm:
    title: str
    body: str
    category: str = ""
    active: bool = True


def snapshot(reply: CannedReply) -> dict:
    return {
        "category": reply.category,
        "title": reply.title,
        "body": reply.body,
        "active": reply.active,
    }


def render_canned_reply(body: str, values: dict[str, Any]) -> str:
    """The reply for one ticket; `values` like SAMPLE_VALUES (customer, ticket, agent,
    requester). Raises jinja2.TemplateError if the template cannot be rendered."""
    return _TEMPLATES.from_string(body).render(**values)


def template_problem(body: str) -> tuple[str, dict[str, object]] | None:
    """Why the body is not a usable template (a message and its variables), or None."""
    try:
        parsed = _TEMPLATES.parse(body)
    except TemplateSyntaxError as error:
        return N_("Template error on line %(line)s: %(detail)s"), {
            "line": error.lineno,
            "detail": error.message or "",
        }
    unknown = meta.find_undeclared_variables(parsed) - set(SAMPLE_VALUES) - set(_TEMPLATES.globals)
    if unknown:
        return N_("Unknown variable: %(names)s."), {"names": ", ".join(sorted(unknown))}
    try:
        render_canned_reply(body, SAMPLE_VALUES)
    except UndefinedError as error:
        return N_("Unknown field: %(detail)s."), {"detail": error.message or ""}
    except SecurityError as error:
        return N_("Not allowed in a template: %(detail)s."), {"detail": str(error)}
    except Exception as error:  # any other failure of the admin's template is a form error
        return N_("The template fails with the sample values: %(detail)s."), {"detail": str(error)}
    return None


async def find_reply(
    db: AsyncSession, reply_id: uuid.UUID, *, for_update: bool = False
) -> CannedReply:
    query = select(CannedReply).where(CannedReply.id == reply_id)
    reply = await db.scalar(query.with_for_update() if for_update else query)
    if reply is None:
        raise NotFound(reply_id)
    return reply


async def _check(db: AsyncSession, form: CannedReplyForm, current: CannedReply | None) -> dict:
    errors: dict = {}
    category = check_name(form.category, "category", errors, limit=CATEGORY_LIMIT, required=False)
    title = check_name(form.title, "title", errors)
    if "title" not in errors and "category" not in errors:
        same = select(CannedReply.id).where(
            func.lower(CannedReply.title) == title.lower(),
            func.lower(CannedReply.category) == category.lower(),
        )
        if current is not None:
            same = same.where(CannedReply.id != current.id)
        if await db.scalar(same.limit(1)) is not None:
            errors["title"] = (N_("Another reply of this category already has this title."), {})
    body = form.body.replace("\r\n", "\n").strip()
    if not body:
        errors["body"] = (N_("This field is required."), {})
    elif "\x00" in body:
        errors["body"] = (N_("This field contains characters that are not allowed."), {})
    elif len(body) > BODY_LIMIT:
        errors["body"] = (N_("Use at most %(count)s characters."), {"count": BODY_LIMIT})
    elif problem := template_problem(body):
        errors["body"] = problem
    raise_if(errors)
    return {"category": category, "title": title, "body": body, "active": form.active}


async def create_reply(db: AsyncSession, actor: Actor, form: CannedReplyForm) -> CannedReply:
    reply = CannedReply(**await _check(db, form, None))
    db.add(reply)
    await db.flush()
    audit.record(
        db, actor, "canned_reply.created", target_type="canned_reply", target_id=reply.id,
        after=snapshot(reply),
    )  # fmt: skip
    return reply


async def update_reply(
    db: AsyncSession, actor: Actor, reply_id: uuid.UUID, form: CannedReplyForm
) -> CannedReply:
    reply = await find_reply(db, reply_id, for_update=True)
    values = await _check(db, form, reply)
    before = snapshot(reply)
    for key, value in values.items():
        setattr(reply, key, value)
    record_changes(
        db, actor, "canned_reply.updated", "canned_reply", reply.id, before, snapshot(reply)
    )
    return reply


async def delete_reply(db: AsyncSession, actor: Actor, reply_id: uuid.UUID) -> None:
    """Nothing refers to a reply once inserted (its text was copied into the message)."""
    reply = await find_reply(db, reply_id, for_update=True)
    before = snapshot(reply)
    await db.delete(reply)
    await db.flush()
    audit.record(
        db, actor, "canned_reply.deleted", target_type="canned_reply", target_id=reply_id,
        before=before,
    )  # fmt: skip
