"""`Annotated` dependency aliases used by every route: settings, a database session, Temporal."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client

from api.health import TemporalConnection
from api.settings import Settings


def get_settings_from_app(request: Request) -> Settings:
    return request.app.state.settings


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.sessionmaker() as session:
        yield session


def get_temporal_connection(request: Request) -> TemporalConnection:
    return request.app.state.temporal


async def get_temporal_client(request: Request) -> Client:
    return await request.app.state.temporal.client()


SettingsDep = Annotated[Settings, Depends(get_settings_from_app)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]
TemporalDep = Annotated[Client, Depends(get_temporal_client)]
TemporalConnectionDep = Annotated[TemporalConnection, Depends(get_temporal_connection)]
