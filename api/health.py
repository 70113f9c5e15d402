"""Reachability of the parts CloudManager cannot work without: PostgreSQL and Temporal."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client

CHECK_TIMEOUT_SECONDS = 3.0


@dataclass(frozen=True)
class ComponentHealth:
    name: str
    ok: bool
    detail: str
    latency_ms: float


@dataclass(frozen=True)
class HealthReport:
    postgres: ComponentHealth
    temporal: ComponentHealth

    @property
    def ok(self) -> bool:
        return self.postgres.ok and self.temporal.ok

    @property
    def components(self) -> tuple[ComponentHealth, ...]:
        return (self.postgres, self.temporal)


async def _timed(name: str, probe) -> ComponentHealth:
    started = time.perf_counter()
    try:
        detail = await asyncio.wait_for(probe(), CHECK_TIMEOUT_SECONDS)
        ok = True
    except Exception as error:  # a health check reports every failure, whatever its kind
        detail = f"{type(error).__name__}: {error}".strip()[:300]
        ok = False
    return ComponentHealth(name, ok, detail, round((time.perf_counter() - started) * 1000, 1))


async def check_health(
    sessionmaker: async_sessionmaker[AsyncSession], temporal: TemporalConnection
) -> HealthReport:
    async def postgres() -> str:
        async with sessionmaker() as session:
            version = await session.scalar(text("SHOW server_version"))
        return f"PostgreSQL {version}"

    async def temporal_probe() -> str:
        client = await temporal.client()
        await client.service_client.check_health()
        return f"{client.service_client.config.target_host}, namespace {client.namespace}"

    postgres_health, temporal_health = await asyncio.gather(
        _timed("postgres", postgres), _timed("temporal", temporal_probe)
    )
    return HealthReport(postgres_health, temporal_health)


class TemporalConnection:
    """A Temporal client connected on first use and kept: the web app starts even while the
    Temporal server is still coming up, and /healthz says so instead of the app crashing."""

    def __init__(self, connect) -> None:
        self._connect = connect
        self._client: Client | None = None
        self._lock = asyncio.Lock()

    async def client(self) -> Client:
        if self._client is None:
            async with self._lock:
                if self._client is None:
                    self._client = await self._connect()
        return self._client
