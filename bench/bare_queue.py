"""The bare page the agent queue is measured against: FastAPI with one route that runs exactly the
queries of /staff/tickets (the queue's rows and count, and the sidebar's queue counts) and
answers them as JSON. No session, no middleware, no template: what is left of our page's time
beyond this is ours.

Served by uvicorn in a process of its own, like the real app:
`BENCH_DATABASE_URL=… python -m uvicorn bench.bare_queue:create_app --factory`; the viewer is a
query parameter (`/queue?viewer=<agent id>`), where the real page has the session.
"""

from __future__ import annotations

import os
import uuid

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from db.queries.tickets import TicketFilters, list_tickets, queue_counts
from db.session import create_engine, create_sessionmaker


def create_app() -> FastAPI:
    engine = create_engine(os.environ["BENCH_DATABASE_URL"])
    sessionmaker = create_sessionmaker(engine)
    app = FastAPI()

    @app.get("/queue")
    async def queue(viewer: uuid.UUID, queue: str = "mine") -> JSONResponse:
        async with sessionmaker() as db:
            counts = await queue_counts(db, viewer)
        async with sessionmaker() as db:
            page = await list_tickets(db, viewer, TicketFilters(queue=queue), 1)
        rows = [{"number": row.number, "subject": row.subject} for row in page.items]
        return JSONResponse({"counts": counts, "total": page.total, "rows": rows})

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    app.router.add_event_handler("shutdown", engine.dispose)
    return app
