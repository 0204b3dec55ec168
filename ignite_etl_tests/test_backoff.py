import itertools

import pytest

from ignite_etl.backoff import RetryPolicy, parse_retry_after


def test_a_rate_limit_wait_is_at_least_the_base_delay_and_at_most_the_cap():
    policy = RetryPolicy(base_delay=0.5, max_retry_after=120.0, jitter=False)

    assert policy.rate_limit_wait("0", 0) == 0.5
    assert policy.rate_limit_wait("7", 0) == 7.0
    assert policy.rate_limit_wait("86400", 0) == 120.0


def test_a_missing_or_garbled_retry_after_backs_off_exponentially():
    policy = RetryPolicy(base_delay=0.5, max_delay=4.0, jitter=False)

    assert [policy.rate_limit_wait(value, n) for value, n in zip([None, "soon", "²", None, None], range(5))] == [
        0.5, 1.0, 2.0, 4.0, 4.0]


@pytest.mark.parametrize("value", ["²", "-1", "1e9", "Mon, 99 Foo 2026"])
def test_retry_after_values_that_are_not_seconds_or_a_date_are_ignored(value):
    assert parse_retry_after(value) is None


def test_a_deadline_refuses_a_wait_that_would_pass_it():
    ticks = itertools.count(start=100.0, step=0.0)
    clock = lambda: next(ticks)  # noqa: E731 - a frozen clock
    deadline = RetryPolicy(deadline_seconds=10.0).deadline(clock)

    assert deadline.allows(10.0)
    assert not deadline.allows(10.5)
