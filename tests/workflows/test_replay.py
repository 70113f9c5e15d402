"""Every recorded history still replays against today's workflow code: a change to a workflow's
command sequence that is not behind `workflow.patched` fails here, not in production."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from api.temporal import DATA_CONVERTER
from tests.support.histories import HISTORIES_DIR
from workflows.worker import WORKFLOWS

HISTORIES = sorted(HISTORIES_DIR.glob("*.json"))


def test_there_are_recorded_histories():
    assert HISTORIES, f"no recorded histories in {HISTORIES_DIR}"


@pytest.mark.parametrize("path", HISTORIES, ids=lambda path: path.stem)
async def test_recorded_history_replays(path: Path):
    history = WorkflowHistory.from_json(
        f"replay-{path.stem}", await asyncio.to_thread(path.read_text)
    )
    replayer = Replayer(workflows=list(WORKFLOWS), data_converter=DATA_CONVERTER)
    await replayer.replay_workflow(history)
