"""Fixtures of the workflow tests."""

from __future__ import annotations

import pytest_asyncio

from tests.support.ticket_timers import TicketClock


@pytest_asyncio.fixture
async def ticket_clock(time_skipping_env, settings, sessionmaker):
    """TicketWorkflow with the application's activities on the time-skipping server."""
    async with TicketClock(time_skipping_env, settings, sessionmaker) as clock:
        yield clock
