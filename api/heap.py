"""Garbage collection for the long-running processes (worker, relay, web app).

CPython's cyclic collector pauses the whole process while it walks a generation, and a full
collection walks everything the process imported at start-up, which lives as long as the
process anyway: in the worker under load these pauses took 60–180 ms (bench.tickets with
gc.callbacks), landing on the updates in flight, and 100–130 ms in the web app every few
hundred pages. `gc.freeze()` once the process is ready moves those objects out of the
collector's reach, so a full collection walks only what the process made since (cached
workflow runs, sessions, requests).

The collection thresholds stay CPython's: raising them made the pauses rarer but let cyclic
garbage live longer, and the worker's memory per open ticket doubled (bench.tickets, (3)).
"""

from __future__ import annotations

import gc


def settle_heap() -> None:
    gc.freeze()
