"""The demo data puts one company's KYC file in the review queue, so `make run` shows it."""

from __future__ import annotations

import asyncio

from api.demo_data import seed_demo_data
from api.demo_kyc import COMPANY
from db.queries.customers import kyc_queue


async def test_the_demo_has_a_file_waiting_for_review(settings, sessionmaker, worker):
    await seed_demo_data(settings)  # whatever ran before, it is loaded now

    for _ in range(200):
        async with sessionmaker() as db:
            if COMPANY in [row.name for row in await kyc_queue(db)]:
                return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{COMPANY} never reached the KYC queue")
