"""The JSON API for integrators, under /api/v1. One module per domain joins this router."""

from fastapi import APIRouter

from api.routes import auth, customers, system, tickets

router = APIRouter(prefix="/api/v1")
router.include_router(system.router)
router.include_router(auth.router)
router.include_router(tickets.router)
router.include_router(customers.router)
