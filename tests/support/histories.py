"""Recorded workflow histories for replay tests.

`RECORD_HISTORIES=1 make test` refreshes the files in tests/workflows/histories/ from the runs the
tests make; commit them when a workflow change is meant to be compatible (behind
`workflow.patched`), so replay keeps proving that older runs still replay.
"""

from __future__ import annotations

import os
from pathlib import Path

from temporalio.client import WorkflowHandle

HISTORIES_DIR = Path(__file__).parents[1] / "workflows" / "histories"


async def record_history(handle: WorkflowHandle, name: str) -> None:
    if os.environ.get("RECORD_HISTORIES") != "1":
        return
    history = await handle.fetch_history()
    HISTORIES_DIR.mkdir(parents=True, exist_ok=True)
    (HISTORIES_DIR / f"{name}.json").write_text(history.to_json())
