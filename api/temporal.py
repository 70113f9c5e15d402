"""The one way to reach Temporal: web and worker share this factory, hence one data converter.

The pydantic converter serialises what our message dataclasses hold (datetime, timedelta,
Decimal, UUID) that the default JSON converter does not.
"""

from __future__ import annotations

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from api.settings import Settings

DATA_CONVERTER = pydantic_data_converter


async def connect_temporal(settings: Settings) -> Client:
    return await Client.connect(
        settings.temporal_target,
        namespace=settings.temporal_namespace,
        data_converter=DATA_CONVERTER,
    )
