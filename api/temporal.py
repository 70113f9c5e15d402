"""The one way to reach Temporal: web and worker share this factory, hence one data converter.

The pydantic converter serialises what our message dataclasses hold (datetime, timedelta,
Decimal, UUID) that the default JSON converter does not.
"""

from __future__ import annotations

import functools

from pydantic import TypeAdapter
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client
from temporalio.contrib.pydantic import PydanticJSONPlainPayloadConverter, PydanticPayloadConverter
from temporalio.converter import DataConverter

from api.settings import Settings

# One cache of pydantic type adapters for the whole process. temporalio builds a fresh payload
# converter for every workflow run, whose own cache starts empty: every run then rebuilt the
# schema of each of its message types (several ms each, most of the CPU of opening a ticket).
_TYPE_ADAPTERS = functools.lru_cache(maxsize=1024)(TypeAdapter)


class PayloadConverter(PydanticPayloadConverter):
    def __init__(self) -> None:
        super().__init__()
        for converter in self.converters.values():
            if isinstance(converter, PydanticJSONPlainPayloadConverter):
                converter._type_adapter = _TYPE_ADAPTERS  # temporalio 1.35's cache attribute


DATA_CONVERTER = DataConverter(payload_converter_class=PayloadConverter)


async def connect_temporal(settings: Settings) -> Client:
    return await Client.connect(
        settings.temporal_target,
        namespace=settings.temporal_namespace,
        data_converter=DATA_CONVERTER,
    )


async def task_queue_pollers(client: Client, settings: Settings) -> list[str]:
    """The identities of the workers polling our task queue for workflow tasks (`pid@host` by
    Temporal's default): the worker container's health check and the benchmarks' start-up."""
    answer = await client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace=settings.temporal_namespace,
            task_queue=TaskQueue(name=settings.temporal_task_queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        )
    )
    return [poller.identity for poller in answer.pollers]
