import time

import pytest

from ignite_etl.platforms import InvalidConfiguration, InvalidCredentials, PlatformUnavailable, platform_for
from ignite_etl.platforms.marketplacer import MarketplacerQueryError, RequestLimiter
from ignite_etl.platforms.marketplacer.client import MarketplacerClient


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


def test_throttling_without_retry_after_waits_sixty_seconds(sandbox, connect):
    sandbox.generate(3, seed=3, broken_rate=0)
    sandbox.set_rate_limit(per_key=1, window_seconds=0.5, status=503, send_retry_after=False)
    sleeps = []

    def sleep(seconds):
        sleeps.append(seconds)
        time.sleep(seconds)

    platform = connect(page_size=1, sleep=sleep)

    products = [p for page in platform.iter_catalogue() for p in page.products]

    assert len(products) == 3
    assert sleeps and all(s == pytest.approx(60 * 0.001) for s in sleeps)


def test_unreachable_instance_raises_platform_unavailable():
    client = MarketplacerClient("http://127.0.0.1:9/graphql", "k", time_scale=0, timeout=0.5)

    with pytest.raises(PlatformUnavailable):
        client.execute("{ allAdverts(first: 1) { totalCount } }")


def test_limiter_spaces_requests_beyond_its_capacity():
    now = [0.0]
    waits = []

    def sleep(seconds):
        waits.append(seconds)
        now[0] += seconds

    limiter = RequestLimiter(capacity=750, window=10.0, clock=lambda: now[0], sleep=sleep)

    for _ in range(760):
        limiter.acquire()

    assert len(waits) == 10
    assert sum(waits) == pytest.approx(10 * 10 / 750)


def test_connection_without_currency_is_refused_at_connect_time():
    with pytest.raises(InvalidConfiguration) as raised:
        platform_for("marketplacer", {"marketplacer_api_url": "http://127.0.0.1:1/graphql"}, {"marketplacer_api_key": "k"})

    assert "currency" in str(raised.value) and "ISO 4217" in str(raised.value)


def test_store_settings_use_the_configured_currency(connect):
    assert connect().store_settings().base_currency == "AUD"


def test_unknown_platform_is_refused():
    with pytest.raises(InvalidConfiguration):
        platform_for("shopify", {}, {})
