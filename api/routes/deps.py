"""`Annotated` dependency aliases for every route, JSON and HTML alike: settings, a database
session, the Temporal client, and the caller for the audit trail."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client

from api.audit import Actor
from api.settings import Settings
from web.database import request_database


async def get_settings(request: Request) -> Settings:
    # A coroutine although it awaits nothing: FastAPI runs a plain function dependency in its
    # thread pool, and the hand-over to a thread and back cost more than the page's whole
    # sidebar query.
    return request.app.state.settings


async def get_db(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's one session (`web.database`: shared with the sign-in lookup and the
    sidebar, released by the middleware); an app without that middleware gets its own."""
    database = request_database(request)
    if database is not None:
        yield await database.session()
        return
    async with request.app.state.sessionmaker() as session:
        yield session


async def get_temporal_client(request: Request) -> Client:
    return await request.app.state.temporal.client()


def actor_of(request: Request) -> Actor:
    """Who is acting, for the audit trail: the signed-in user, or an anonymous visitor."""
    user = getattr(request.state, "user", None)
    client_ip = request.client.host if request.client else None
    agent = request.headers.get("user-agent", "")
    if user is None:
        return Actor(None, "anonymous", client_ip, agent)
    return Actor(user.id, user.email, client_ip, agent)


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[AsyncSession, Depends(get_db)]
TemporalDep = Annotated[Client, Depends(get_temporal_client)]
