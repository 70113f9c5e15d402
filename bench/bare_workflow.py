"""The smallest workflow worth timing: start, one no-op activity, result.

It has the shape of OutboundEmailWorkflow, so the difference between the two is our code. It
lives in its own small module because the workflow sandbox re-executes a workflow's module for
every run: defined in `python -m bench.engine` it would re-run the whole engine and re-import the
harness (PostgreSQL, aiosmtpd…) inside the sandbox each time, and the "bare" figure would be
neither bare nor comparable with ours.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow


@activity.defn(name="bench_noop")
async def noop(value: str) -> str:
    return value


@workflow.defn(name="BenchBareWorkflow")
class BareWorkflow:
    @workflow.run
    async def run(self, value: str) -> str:
        return await workflow.execute_activity(
            noop, value, start_to_close_timeout=timedelta(seconds=30)
        )
