"""System status for integrators and monitoring."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from api.health import check_health

router = APIRouter(tags=["system"])


class ComponentStatus(BaseModel):
    name: str
    ok: bool
    detail: str
    latency_ms: float


class SystemStatus(BaseModel):
    ok: bool
    components: list[ComponentStatus]


@router.get("/status", response_model=SystemStatus, summary="Reachability of the platform's parts")
async def status(request: Request) -> JSONResponse:
    report = await check_health(request.app.state.sessionmaker, request.app.state.temporal)
    body = SystemStatus(
        ok=report.ok,
        components=[ComponentStatus(**vars(part)) for part in report.components],
    )
    return JSONResponse(body.model_dump(), status_code=200 if report.ok else 503)
