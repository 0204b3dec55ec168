"""The Marketplacer Operator API client: one place for auth, the request limiter, bounded retries and Relay
paging."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import httpx

from ignite_etl.backoff import Deadline, RetryPolicy
from ignite_etl.platforms.base import InvalidCredentials, PlatformError, PlatformUnavailable
from ignite_etl.platforms.limits import Limiter, LocalLimiter, RateLimit, SharedRateLimits, scope_name
from ignite_etl.platforms.outbound import PUBLIC_ONLY, OutboundPolicy

logger = logging.getLogger(__name__)

RATE_LIMIT = RateLimit(600, 10.0)
"""Marketplacer counts 600 requests per 10 s per source IP, 750 per API key and 1,200 per operator (all keys):
one budget per instance at the smallest holds all three, wherever our workers run from one egress address."""
RETRY = RetryPolicy(max_attempts=5, base_delay=1.0, max_delay=30.0, max_rate_limit_waits=30, max_retry_after=60.0,
                    deadline_seconds=300.0)
"""A call waits at most a minute at a time and five minutes in all; a store slower than that fails its sync
step (which Dagster retries) rather than holding a run slot every other store needs."""


class MarketplacerQueryError(PlatformError):
    """Marketplacer answered with GraphQL `errors`: the query or its variables are wrong."""

    def __init__(self, messages: list[str]):
        self.messages = messages
        super().__init__("Marketplacer rejected the query: " + "; ".join(messages))


class MarketplacerMutationError(PlatformError):
    """A mutation answered with `errors { field messages }`."""

    def __init__(self, mutation: str, errors: list[dict]):
        self.errors = errors
        details = "; ".join(f"{e.get('field')}: {', '.join(e.get('messages') or [])}" for e in errors)
        super().__init__(f"Marketplacer refused {mutation}: {details}")


class MarketplacerClient:
    """POSTs GraphQL documents to an instance's `/graphql`, only where `outbound` allows (the URL is the
    merchant's), at the pace of `RATE_LIMIT`: shared with every other worker through `rate_limits` in a sync,
    this process's own otherwise. `time_scale` shrinks every wait (tests only)."""

    def __init__(
        self,
        api_url: str,
        api_key: str,
        *,
        rate_limits: SharedRateLimits | None = None,
        http_client: httpx.Client | None = None,
        timeout: float = 60.0,
        time_scale: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
        retry: RetryPolicy = RETRY,
        deadline_seconds: float | None = None,
        outbound: OutboundPolicy = PUBLIC_ONLY,
    ):
        self.api_url = str(outbound.check_url(api_url))
        self._api_key = api_key
        self.limiter: Limiter = (rate_limits.limiter(scope_name("marketplacer", self.api_url), RATE_LIMIT) if rate_limits
                                 else LocalLimiter(RATE_LIMIT, time_scale=time_scale))
        self._http = http_client or httpx.Client(timeout=timeout, transport=outbound.transport(),
                                                 follow_redirects=False)
        self._owns_http = http_client is None
        self.time_scale = time_scale
        self._sleep = sleep
        self.retry = retry if deadline_seconds is None else replace(retry, deadline_seconds=deadline_seconds)
        self.requests_sent = 0
        self.throttled_waits = 0

    def __repr__(self) -> str:
        return f"MarketplacerClient(api_url={self.api_url!r})"

    def fingerprint(self) -> str:
        """Names this instance and key without revealing the key (a truncated SHA-256 of both)."""
        return hashlib.sha256(f"{self.api_url}\n{self._api_key}".encode()).hexdigest()[:16]

    def close(self) -> None:
        self.limiter.close()
        if self._owns_http:
            self._http.close()

    def execute(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """The `data` of one GraphQL request. Throttling (429/503) waits are not failures; network errors
        and other 5xx are retried a few times. Every wait is bounded (`RETRY`), and so is the whole call:
        `PlatformUnavailable` as soon as the next wait would pass the call's deadline."""
        failures = 0
        throttled = 0
        deadline = self.retry.deadline()
        while True:
            self.limiter.acquire()
            self.requests_sent += 1
            try:
                response = self._http.post(
                    self.api_url,
                    json={"query": query, "variables": variables or {}},
                    headers={"MARKETPLACER-API-KEY": self._api_key, "Accept": "application/json"},
                )
            except httpx.HTTPError as exc:
                failures += 1
                self._retry_or_give_up(deadline, failures, self.retry.backoff(failures),
                                       f"did not answer ({type(exc).__name__})")
                continue
            status = response.status_code
            if status in (429, 503):
                throttled += 1
                if throttled > self.retry.max_rate_limit_waits:
                    raise PlatformUnavailable(f"Marketplacer throttled {throttled} requests in a row; try again later")
                self.throttled_waits += 1
                self._retry_or_give_up(deadline, 0, self.retry.rate_limit_wait(response.headers.get("retry-after"),
                                                                               throttled - 1), f"answered {status}")
                continue
            if status in (401, 403):
                raise InvalidCredentials(
                    "Marketplacer refused the API key: check that it is an Operator API key of this store, or create "
                    "a new one and reconnect"
                )
            if 300 <= status < 400:
                raise PlatformError(f"Marketplacer answered {status} (a redirect); enter the API URL it redirects "
                                    "to, which ends in /graphql")
            if status >= 500:
                failures += 1
                self._retry_or_give_up(deadline, failures, self.retry.backoff(failures), f"answered {status}")
                continue
            return _data(response)

    def _retry_or_give_up(self, deadline: Deadline, failures: int, wait: float, what: str) -> None:
        """Wait `wait` (time-scaled) before the next attempt, or raise when the failures or the wait
        would pass the call's budget."""
        scaled = wait * self.time_scale
        if failures >= self.retry.max_attempts or not deadline.allows(scaled):
            raise PlatformUnavailable(f"Marketplacer at {self.api_url} {what}; try again later")
        self._sleep(scaled)

    def paginate(self, query: str, variables: dict[str, Any], connection: str, page_size: int) -> Iterator[list]:
        """Yield each page's `nodes` of the top-level `connection`, following `pageInfo.endCursor`."""
        after = None
        while True:
            data = self.execute(query, {**variables, "first": page_size, "after": after})
            page = data[connection]
            yield page["nodes"]
            info = page["pageInfo"]
            if not info["hasNextPage"]:
                return
            if not info.get("endCursor"):
                raise PlatformError(f"Marketplacer said {connection} has more pages but gave no cursor to read them")
            after = info["endCursor"]

    def mutate(self, query: str, variables: dict[str, Any], mutation: str) -> dict[str, Any]:
        payload = self.execute(query, variables)[mutation]
        if payload is None:
            raise PlatformError(f"Marketplacer answered {mutation} with nothing")
        if payload.get("errors"):
            raise MarketplacerMutationError(mutation, payload["errors"])
        return payload


def _data(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        raise PlatformError(f"Marketplacer answered {response.status_code} with a body that is not JSON") from None
    if response.status_code >= 400 and not body.get("errors"):
        raise PlatformError(f"Marketplacer answered {response.status_code}")
    if body.get("errors"):
        raise MarketplacerQueryError([str(e.get("message", e)) for e in body["errors"]])
    return body.get("data") or {}
