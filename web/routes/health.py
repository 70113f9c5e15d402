"""/healthz: 200 when PostgreSQL and Temporal both answer, 503 otherwise, with the details."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from api.access import public
from api.health import check_health

router = APIRouter()


@router.get("/healthz", include_in_schema=False, dependencies=[Depends(public)])
async def healthz(request: Request) -> JSONResponse:
    report = await check_health(request.app.state.sessionmaker, request.app.state.temporal)
    body = {"status": "ok" if report.ok else "degraded"}
    # Public: reachability and latency only, no versions or addresses.
    body.update(
        {part.name: {"ok": part.ok, "latency_ms": part.latency_ms} for part in report.components}
    )
    return JSONResponse(body, status_code=200 if report.ok else 503)
