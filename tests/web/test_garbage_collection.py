"""The objects the app starts with are kept out of the garbage collector's full collections
(`gc.freeze()` at start-up): walking them all paused every request in flight for 100 ms or more
every few hundred pages."""

from __future__ import annotations

import gc

from web.app import create_app


async def test_what_the_app_loads_at_start_up_is_frozen(settings):
    gc.unfreeze()  # whatever an earlier test froze
    app = create_app(settings)

    async with app.router.lifespan_context(app):
        frozen = gc.get_freeze_count()

    assert frozen > 10_000
