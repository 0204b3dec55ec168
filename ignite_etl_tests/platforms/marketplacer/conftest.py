"""A Marketplacer sandbox on real HTTP, and an adapter connected to it with time-scaled waits."""

from __future__ import annotations

import pytest

from ignite_etl.platforms import platform_for
from ignite_etl.platforms.outbound import SANDBOX
from ignite_etl.sandbox.marketplacer import DEFAULT_API_KEY, MarketplacerSandbox
from ignite_etl.sandbox.server import BackgroundServer

TIME_SCALE = 0.001


@pytest.fixture
def sandbox():
    sim = MarketplacerSandbox(auto_deliver=False, time_scale=TIME_SCALE)
    yield sim
    sim.close()


@pytest.fixture
def server(sandbox):
    with BackgroundServer(sandbox.app) as running:
        yield running


@pytest.fixture
def connect(server):
    opened = []

    def make(page_size: int = 50, api_key: str = DEFAULT_API_KEY, time_scale: float = TIME_SCALE, **options):
        platform = platform_for(
            "marketplacer",
            {"marketplacer_api_url": f"{server.url}/graphql", "currency": "AUD"},
            {"marketplacer_api_key": api_key},
            page_size=page_size,
            outbound=SANDBOX,
            time_scale=time_scale,
            **options,
        )
        opened.append(platform)
        return platform

    yield make
    for platform in opened:
        platform.close()
