"""Garbage collection for the long-running processes (worker, relay, web app).

CPython's cyclic collector pauses the whole process while it walks the objects of a generation.
A worker holds hundreds of cached workflow runs beside everything it imported, and a full
collection took 60–180 ms there under load (bench.tickets, gc.callbacks): each pause lands on the
updates in flight, the reply p99. Once a process is ready:

- `gc.freeze()` moves what exists then (modules, mappers, compiled statements, templates) out of
  the collector's reach for good: it lives as long as the process anyway;
- a larger first generation makes the young collections rarer, so fewer short-lived objects
  survive into the older generations, whose collections are the long pauses.
"""

from __future__ import annotations

import gc

YOUNG_OBJECTS = 10_000  # CPython's default is 700
OLDER_EVERY = 20  # younger collections between two of the next generation (default 10)


def settle_heap() -> None:
    gc.freeze()
    gc.set_threshold(YOUNG_OBJECTS, OLDER_EVERY, OLDER_EVERY)
