"""Dependencies of the JSON API routes: settings, a database session, and the caller for the
audit trail. (The web has its own in web/deps.py; imports run web → api, never back.)"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from api.audit import Actor
from api.settings import Settings


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_db(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.sessionmaker() as session:
        yield session


def actor_of(request: Request) -> Actor:
    user = getattr(request.state, "user", None)
    client_ip = request.client.host if request.client else None
    agent = request.headers.get("user-agent", "")
    if user is None:
        return Actor(None, "anonymous", client_ip, agent)
    return Actor(user.id, user.email, client_ip, agent)


SettingsDep = Annotated[Settings, Depends(get_settings)]
DbDep = Annotated[AsyncSession, Depends(get_db)]
