"""A platform's rate limit as we keep it: never more than our share of it in any window, in one process or
shared through Postgres by many."""

import threading

import pytest

from ignite_etl.platforms.limits import LocalLimiter, RateLimit, SharedCostBucket, SharedLimiter, scope_name
from ignite_etl.store import rate_limits
from ignite_etl.store.database import Database, connect


def most_in_any_window(times: list[float], window: float) -> int:
    times = sorted(times)
    start = most = 0
    for end, at in enumerate(times):
        while times[start] <= at - window:
            start += 1
        most = max(most, end - start + 1)
    return most


def test_a_burst_then_an_even_pace_keep_every_window_within_the_share():
    now = [0.0]

    def sleep(seconds):
        now[0] += seconds

    limiter = LocalLimiter(RateLimit(600, 10.0), share=0.9, clock=lambda: now[0], sleep=sleep)
    sent = []
    for _ in range(2000):
        limiter.acquire()
        sent.append(now[0])

    assert sent[:54] == pytest.approx([0.0] * 54, abs=1e-9) and sent[54] > 0.01  # a tenth of the 540 at once
    assert most_in_any_window(sent, 10.0) <= 540
    assert most_in_any_window(sent, 10.0) >= 530  # and the pace uses nearly all of it
    assert sent[-1] == pytest.approx((2000 - 54) * 10.0 / 486)


def test_time_scale_shrinks_the_window_not_the_count():
    interval, burst = RateLimit(600, 10.0).pace(0.5, time_scale=0.01)
    assert interval == pytest.approx(0.1 / 270) and burst == pytest.approx(29 * interval)


def test_processes_sharing_a_scope_share_its_budget(database_url):
    """Two limiters with connections of their own (as two workers have) reserve from one row: together they
    stay within the budget, and each one's requests are spaced by the other's."""
    limit, calls = RateLimit(100, 10.0), 150
    scope = scope_name("test", "https://store.example/graphql")
    reserved: dict[str, list[float]] = {"a": [], "b": []}
    go = threading.Barrier(2)

    def reserve(name: str) -> None:
        limiter = SharedLimiter(Database(database_url), scope, limit, share=1.0, sleep=lambda _s: None)
        with connect(database_url) as conn:
            go.wait()
            for _ in range(calls):
                now = conn.execute("select extract(epoch from clock_timestamp())::float8 as now").fetchone()["now"]
                reserved[name].append(now + limiter.acquire())
        limiter.close()

    threads = [threading.Thread(target=reserve, args=(name,)) for name in reserved]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    everything = reserved["a"] + reserved["b"]
    assert most_in_any_window(everything, 10.0) <= 100
    # Alone, each would have sent its 150 in (150 - 10) intervals; shared, the last goes after (300 - 10).
    assert max(everything) - min(everything) == pytest.approx(290 * 10.0 / 90, rel=0.02)


def test_a_scope_names_the_store_without_its_key():
    scope = scope_name("marketplacer", "https://store.example/graphql", "secret-key")
    assert scope.startswith("marketplacer:") and "secret" not in scope and "store.example" not in scope


def test_reserve_is_one_statement_on_one_row(database_url):
    with connect(database_url, autocommit=True) as conn:
        first = rate_limits.reserve(conn, "test:one-row", 1.0, 0.0)
        second = rate_limits.reserve(conn, "test:one-row", 1.0, 0.0)
        rows = conn.execute("select count(*) as n from rate_limits where scope = 'test:one-row'").fetchone()["n"]
    assert first == 0.0 and second == pytest.approx(1.0, abs=0.05) and rows == 1


def test_a_shared_cost_bucket_lends_its_points_and_takes_refunds_back(database_url):
    """Shopify's bucket as one row: 1,000 points refilled at 100 a second (time running 10 times faster).
    A query takes its points before it is sent, waits while the bucket lacks them, and what it did not cost
    comes back."""
    bucket = SharedCostBucket(Database(database_url), scope_name("test", "costs"), share=1.0, time_scale=0.1)
    size = {"maximum": 1000, "restore_rate": 100}

    assert bucket.reserve(600, **size) == 0.0  # 400 left
    assert bucket.reserve(600, **size) == pytest.approx(0.2, rel=0.25)  # lacks 200 points: 2 s at 100/s
    bucket.settle(600, 0, restore_rate=100, held_seconds=0.0)  # the second cost nothing after all: 600 left
    assert bucket.reserve(500, **size) == 0.0  # 100 left
    assert bucket.reserve(300, **size) == pytest.approx(0.2, rel=0.25)
    bucket.close()


def test_a_shared_cost_bucket_keeps_to_its_share_of_the_bucket(database_url):
    """At share 0.5 our workers see half the bucket (500 points) refilled at half the rate (50 a second)."""
    bucket = SharedCostBucket(Database(database_url), scope_name("test", "half"), share=0.5, time_scale=0.1)
    size = {"maximum": 1000, "restore_rate": 100}

    assert bucket.reserve(400, **size) == 0.0
    assert bucket.reserve(400, **size) == pytest.approx(0.6, rel=0.25)  # lacks 300 of 500 points at 50/s
    bucket.close()
