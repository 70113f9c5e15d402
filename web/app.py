"""The FastAPI application: portal (/portal), back-office (/staff), admin console (/admin),
JSON API (/api/v1, documented at /api/docs) and /healthz."""

from __future__ import annotations

from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import Depends, FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from api.access import public
from api.health import TemporalConnection
from api.heap import settle_heap
from api.routes import router as api_router
from api.settings import Settings, get_settings
from api.temporal import connect_temporal
from db.session import create_engine, create_sessionmaker
from web.auth import AuthMiddleware
from web.csrf import CsrfMiddleware
from web.database import DatabaseMiddleware
from web.errors import install_error_handlers
from web.locale import LocaleMiddleware
from web.routes import (
    account,
    admin,
    admin_audit,
    admin_customers,
    admin_kyc,
    admin_roles,
    admin_support,
    admin_users,
    attachments,
    auth,
    company,
    documents,
    health,
    home,
    invitations,
    portal,
    portal_kyc,
    portal_ticket,
    portal_tickets,
    staff,
    staff_availability,
    staff_customer,
    staff_customer_records,
    staff_customers,
    staff_kyc,
    staff_mail,
    staff_ticket,
    staff_ticket_customer,
    staff_ticket_messages,
    staff_ticket_pdf,
    staff_ticket_properties,
    staff_tickets,
    staff_tickets_bulk,
    staff_tickets_export,
)
from web.security_headers import SecurityHeadersMiddleware
from web.templating import templates

STATIC_DIR = Path(__file__).parent / "static"
VENDOR_DIR = STATIC_DIR / "vendor"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        # No pre-ping: its three round trips came on every request's checkout. A restart of
        # PostgreSQL is still caught on checkout without them (db.session), tested in
        # tests/web/test_request_database.py.
        engine = create_engine(settings.sqlalchemy_url, pre_ping=False)
        app.state.engine = engine
        app.state.sessionmaker = create_sessionmaker(engine)
        app.state.temporal = TemporalConnection(lambda: connect_temporal(settings))
        # What is loaded by now (modules, routes, templates' environment: ~270,000 objects)
        # out of the collector's sight: a full collection walked it all, a 100+ ms pause every
        # few hundred pages that stalled every request in flight (bench.tickets (4)).
        settle_heap()
        yield
        await engine.dispose()

    app = FastAPI(
        title="CloudManager API",
        version="1",
        description="JSON API for integrators: tickets, customers, orders, invoices.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.settings = settings
    # Optional assets fetched at set-up from the npm registry; pages work without them.
    templates.env.globals["htmx_available"] = (VENDOR_DIR / "htmx.min.js").exists()

    install_error_handlers(app)
    # Outermost last: headers on every answer; one database session for the whole request
    # (web.database), the signed-in user's lookup included; the signed-in user is known before
    # the locale is chosen (a user's language comes first) and before any route runs.
    upload_budget = settings.upload_max_bytes * settings.upload_max_files + 1024 * 1024
    app.add_middleware(CsrfMiddleware, max_body_bytes=upload_budget)
    app.add_middleware(LocaleMiddleware, default=settings.default_locale)
    app.add_middleware(AuthMiddleware)
    app.add_middleware(DatabaseMiddleware)
    app.add_middleware(SecurityHeadersMiddleware)

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for module in (
        home,
        auth,
        health,
        portal,
        staff,
        admin,
        account,
        admin_users,
        admin_roles,
        admin_audit,
        admin_customers,
        admin_kyc,
        admin_support,
        staff_availability,
        staff_tickets,
        staff_tickets_export,
        staff_tickets_bulk,
        staff_customers,
        staff_customer,
        staff_customer_records,
        staff_kyc,
        # After the list's own paths (export.csv, bulk), which /{ticket_id} would also match.
        staff_ticket,
        staff_ticket_messages,
        staff_ticket_customer,
        staff_ticket_properties,
        staff_ticket_pdf,
        staff_mail,
        invitations,
        company,
        attachments,
        documents,
        portal_kyc,
        portal_tickets,  # before portal_ticket: /portal/tickets/new is not a ticket id
        portal_ticket,
    ):
        app.include_router(module.router)
    app.include_router(api_router)

    @app.get("/api/docs", include_in_schema=False, dependencies=[Depends(public)])
    async def api_docs() -> HTMLResponse:
        swagger = VENDOR_DIR / "swagger-ui"
        if not (swagger / "swagger-ui-bundle.js").exists():
            return HTMLResponse(
                "<!doctype html><title>CloudManager API</title><h1>CloudManager API</h1>"
                "<p>The OpenAPI description is at "
                '<a href="/api/openapi.json">/api/openapi.json</a>. '
                "Run <code>make vendor</code> to fetch the interactive documentation.</p>"
            )
        return get_swagger_ui_html(
            openapi_url="/api/openapi.json",
            title="CloudManager API",
            swagger_js_url="/static/vendor/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url="/static/vendor/swagger-ui/swagger-ui.css",
            swagger_favicon_url="/static/favicon.svg",
        )

    return app
