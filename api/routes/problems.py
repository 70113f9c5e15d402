"""The error body every JSON route answers with (RFC 9457 problem details), for OpenAPI.

Routes raise `HTTPException(status, detail)`, or `ProblemError` when the body carries extension
members (RFC 9457 §3.2) such as the `kind` of a refusal; web/errors.py turns either into this
shape with the `application/problem+json` media type.
"""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException
from pydantic import BaseModel, Field


class Problem(BaseModel):
    type: str = Field("about:blank", examples=["about:blank"])
    title: str = Field(examples=["Unauthorized"])
    status: int = Field(examples=[401])
    detail: str = Field(examples=["Email or password is not correct."])


class RefusalProblem(Problem):
    kind: str = Field(
        examples=["ReopenWindowPassed"],
        description="Why it was refused, for programs to branch on; `detail` says it in words.",
    )


class ProblemError(HTTPException):
    """An error whose problem body has members besides the standard ones."""

    def __init__(self, status_code: int, detail: str, **extensions: object) -> None:
        super().__init__(status_code=status_code, detail=detail)
        self.extensions = extensions


class FieldProblem(BaseModel):
    loc: list[str | int]
    msg: str
    type: str | None = None


class ValidationProblem(Problem):
    errors: list[FieldProblem] = []


_DESCRIPTIONS = {
    401: "Not authenticated, or the credentials or token were refused.",
    403: "Authenticated, but not allowed to do this.",
    404: "No such resource (or not yours).",
    409: "The resource's state refuses this; `kind` says why.",
    422: "The request body or parameters are not valid; `errors` says where.",
    429: "Too many failed attempts: locked until the time in `Retry-After` (seconds).",
}


def _inlined(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema with its `$defs` inlined: OpenAPI resolves `$ref`s against the
    whole document, where `#/$defs/…` does not exist."""
    schema = model.model_json_schema()
    definitions = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return resolve(definitions[node["$ref"].rsplit("/", 1)[-1]])
            return {key: resolve(value) for key, value in node.items()}
        if isinstance(node, list):
            return [resolve(item) for item in node]
        return node

    return resolve(schema)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route: each status documented with the problem body."""
    documented: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        model = {409: RefusalProblem, 422: ValidationProblem}.get(status, Problem)
        documented[status] = {
            "description": _DESCRIPTIONS.get(status, "Error."),
            "content": {"application/problem+json": {"schema": _inlined(model)}},
        }
    return documented
