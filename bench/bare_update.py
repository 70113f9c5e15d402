"""The smallest long-lived workflow with an update worth timing: each update runs one no-op
activity and answers, the shape of a ticket reply without our code. Its own module for the reason
given in bench.bare_workflow (the sandbox re-imports a workflow's module)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from bench.bare_workflow import noop


@workflow.defn(name="BenchBareUpdateWorkflow")
class BareUpdateWorkflow:
    def __init__(self) -> None:
        self._done = False
        self._count = 0

    @workflow.run
    async def run(self) -> int:
        await workflow.wait_condition(lambda: self._done and workflow.all_handlers_finished())
        return self._count

    @workflow.update
    async def touch(self, value: str) -> int:
        await workflow.execute_activity(noop, value, start_to_close_timeout=timedelta(seconds=30))
        self._count += 1
        return self._count

    @workflow.signal
    def finish(self) -> None:
        self._done = True
