import pytest

from ignite_etl.sandbox.marketplacer import MarketplacerSandbox
from ignite_etl.sandbox.server import BackgroundServer


@pytest.fixture
def sandbox():
    sim = MarketplacerSandbox(auto_deliver=False, time_scale=0.001)
    yield sim
    sim.close()


@pytest.fixture
def server(sandbox):
    with BackgroundServer(sandbox.app) as running:
        yield running
