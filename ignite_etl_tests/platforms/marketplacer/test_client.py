import time

import pytest

from ignite_etl.platforms import InvalidConfiguration, InvalidCredentials, PlatformUnavailable, platform_for
from ignite_etl.platforms.marketplacer import MarketplacerQueryError
from ignite_etl.platforms.marketplacer.client import RETRY, MarketplacerClient
from ignite_etl.platforms.outbound import SANDBOX
from ignite_etl.sandbox.server import BackgroundServer
from ignite_etl_tests.platforms.marketplacer.conftest import TIME_SCALE


def test_wrong_api_key_raises_invalid_credentials_without_echoing_the_key(sandbox, connect):
    with pytest.raises(InvalidCredentials) as raised:
        connect(api_key="not-the-key-s3cret").check_credentials()

    assert "s3cret" not in str(raised.value)
    assert "s3cret" not in repr(connect(api_key="not-the-key-s3cret"))


def test_bearer_authorization_is_accepted_as_well(sandbox, server):
    import httpx

    response = httpx.post(f"{server.url}/graphql", json={"query": "{ allAdverts(first: 1) { totalCount } }"},
                          headers={"Authorization": "Bearer sandbox-marketplacer-key"})

    assert response.status_code == 200
    assert response.json()["data"]["allAdverts"]["totalCount"] == 0


def test_query_naming_a_field_the_schema_lacks_raises_a_query_error(sandbox, connect):
    platform = connect()

    with pytest.raises(MarketplacerQueryError) as raised:
        platform.client.execute("{ allAdverts { nodes { ... on Advert { stockLevel } } } }")

    assert "stockLevel" in str(raised.value)


def test_throttled_requests_wait_for_retry_after_and_do_not_count_as_failures(sandbox, connect):
    sandbox.generate(60, seed=3, broken_rate=0)
    # a window long enough that even a loaded machine sends 3 requests within it
    sandbox.set_rate_limit(per_key=3, window_seconds=1.0)
    sleeps = []

    def sleep(seconds):
        sleeps.append(seconds)
        time.sleep(seconds)

    platform = connect(page_size=5, time_scale=0.05, sleep=sleep)

    products = [p for page in platform.iter_catalogue() for p in page.products]

    assert len(products) == 60
    assert sandbox.throttled_requests >= 5  # at least MAX_TRANSIENT_FAILURES, yet no failure
    assert platform.client.throttled_waits == sandbox.throttled_requests
    assert sleeps and all(s == pytest.approx(1 * 0.05) for s in sleeps)  # Retry-After: 1, time-scaled


def test_throttling_without_retry_after_backs_off_exponentially(sandbox, connect):
    sandbox.generate(3, seed=3, broken_rate=0)
    sandbox.set_rate_limit(per_key=1, window_seconds=0.5, status=503, send_retry_after=False)
    sleeps = []

    def sleep(seconds):
        sleeps.append(seconds)
        time.sleep(seconds)

    platform = connect(page_size=1, sleep=sleep)

    products = [p for page in platform.iter_catalogue() for p in page.products]

    assert len(products) == 3
    assert sleeps and all(s <= RETRY.max_delay * TIME_SCALE for s in sleeps)
    assert max(sleeps) > min(sleeps)  # the waits of one call grow


class _AlwaysThrottled:
    """A server that answers every request with the same throttling status and Retry-After."""

    def __init__(self, status: int, retry_after: str | None):
        self.status, self.retry_after, self.requests = status, retry_after, 0

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return
        self.requests += 1
        headers = [(b"content-type", b"application/json")]
        if self.retry_after is not None:
            headers.append((b"retry-after", self.retry_after.encode()))
        await send({"type": "http.response.start", "status": self.status, "headers": headers})
        await send({"type": "http.response.body", "body": b"{}"})


@pytest.mark.parametrize("status", [429, 503])
def test_a_retry_after_zero_storm_ends_in_platform_unavailable_after_a_bounded_number_of_requests(status):
    app = _AlwaysThrottled(status, "0")
    sleeps: list[float] = []
    with BackgroundServer(app) as server:
        client = MarketplacerClient(f"{server.url}/graphql", "k", sleep=sleeps.append, outbound=SANDBOX)
        with pytest.raises(PlatformUnavailable, match="try again later"):
            client.execute("{ allAdverts(first: 1) { totalCount } }")

    assert app.requests <= RETRY.max_rate_limit_waits + 1
    assert all(wait >= RETRY.base_delay for wait in sleeps)  # Retry-After: 0 is no busy loop
    assert sum(sleeps) <= RETRY.deadline_seconds


def test_a_retry_after_longer_than_the_calls_deadline_gives_up_without_waiting():
    app = _AlwaysThrottled(429, "3600")
    sleeps: list[float] = []
    with BackgroundServer(app) as server:
        client = MarketplacerClient(f"{server.url}/graphql", "k", sleep=sleeps.append, deadline_seconds=30,
                                    outbound=SANDBOX)
        with pytest.raises(PlatformUnavailable):
            client.execute("{ allAdverts(first: 1) { totalCount } }")

    assert app.requests == 1
    assert sleeps == []  # an hour's wait is capped to a minute, which is past the 30 s deadline


def test_every_wait_is_capped_and_the_whole_call_stays_inside_its_deadline():
    app = _AlwaysThrottled(503, "3600")
    sleeps: list[float] = []

    def sleep(seconds):
        sleeps.append(seconds)
        time.sleep(seconds)

    with BackgroundServer(app) as server:
        client = MarketplacerClient(f"{server.url}/graphql", "k", sleep=sleep, time_scale=0.0001, outbound=SANDBOX,
                                    deadline_seconds=0.05)
        started = time.monotonic()
        with pytest.raises(PlatformUnavailable):
            client.execute("{ allAdverts(first: 1) { totalCount } }")
        elapsed = time.monotonic() - started

    assert sleeps and all(wait == pytest.approx(RETRY.max_retry_after * 0.0001) for wait in sleeps)
    assert sum(sleeps) <= 0.05 < elapsed + RETRY.max_retry_after * 0.0001  # gave up at the deadline


def test_unreachable_instance_raises_platform_unavailable():
    client = MarketplacerClient("http://127.0.0.1:9/graphql", "k", time_scale=0, timeout=0.5, outbound=SANDBOX)

    with pytest.raises(PlatformUnavailable):
        client.execute("{ allAdverts(first: 1) { totalCount } }")


def test_connection_without_currency_is_refused_at_connect_time():
    with pytest.raises(InvalidConfiguration) as raised:
        platform_for("marketplacer", {"marketplacer_api_url": "http://127.0.0.1:1/graphql"}, {"marketplacer_api_key": "k"})

    assert "currency" in str(raised.value) and "ISO 4217" in str(raised.value)


def test_store_settings_use_the_configured_currency(connect):
    assert connect().store_settings().base_currency == "AUD"


def test_unknown_platform_is_refused():
    with pytest.raises(InvalidConfiguration):
        platform_for("shopify", {}, {})
