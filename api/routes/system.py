"""System status for integrators and monitoring."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from api.access import public
from api.health import check_health

router = APIRouter(tags=["system"])


class ComponentStatus(BaseModel):
    # No versions or addresses: this answer is public. The admin console shows the details.
    name: str
    ok: bool
    latency_ms: float


class SystemStatus(BaseModel):
    ok: bool
    components: list[ComponentStatus]


@router.get(
    "/status",
    response_model=SystemStatus,
    summary="Reachability of the platform's parts",
    dependencies=[Depends(public)],
)
async def status(request: Request) -> JSONResponse:
    report = await check_health(request.app.state.sessionmaker, request.app.state.temporal)
    body = SystemStatus(
        ok=report.ok,
        components=[
            ComponentStatus(name=part.name, ok=part.ok, latency_ms=part.latency_ms)
            for part in report.components
        ],
    )
    return JSONResponse(body.model_dump(), status_code=200 if report.ok else 503)
