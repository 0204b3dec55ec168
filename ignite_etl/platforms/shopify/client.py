"""The Shopify Admin GraphQL client: one place for the access token (refreshed before it expires), the
cost-based throttle, bounded retries, cursor paging and bulk-operation result downloads.

Shopify meters calls in cost points per app and shop: a bucket of `maximumAvailable` points that refills at
`restoreRate` per second, each query taking its requested cost up front (shopify-api.md §2.2). Every answer
reports the bucket (`extensions.cost.throttleStatus`); the client keeps that reading and, before sending a
document, waits until the bucket holds what the document last cost, so it waits before a THROTTLED answer
rather than after one. In a sync the bucket is shared with every worker calling the shop (`SharedCostBucket`,
a row in Postgres): each query reserves its points there and gives back what Shopify refunded. A THROTTLED
answer (something outside our workers emptied the bucket) waits for the points it lacks.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import httpx

from ignite_etl.backoff import Deadline, RetryPolicy
from ignite_etl.platforms.base import InvalidCredentials, PlatformError, PlatformUnavailable
from ignite_etl.platforms.limits import SharedCostBucket
from ignite_etl.platforms.outbound import PUBLIC_ONLY, OutboundPolicy
from ignite_etl.platforms.shopify.queries import API_VERSION

logger = logging.getLogger(__name__)

RETRY = RetryPolicy(max_attempts=5, base_delay=1.0, max_delay=30.0, max_rate_limit_waits=30, max_retry_after=60.0,
                    deadline_seconds=300.0)
REFRESH_AHEAD_SECONDS = 300.0
"""An expiring token is refreshed when it has less than this left, so no call is sent with a token that
expires on the way."""
MAX_QUERY_COST = 1000


class ShopifyQueryError(PlatformError):
    """Shopify answered with GraphQL `errors`: the query or its variables are wrong."""

    def __init__(self, messages: list[str]):
        self.messages = messages
        super().__init__("Shopify rejected the query: " + "; ".join(messages))


class ShopifyUserError(PlatformError):
    """A mutation answered with `userErrors`."""

    def __init__(self, mutation: str, errors: list[dict]):
        self.errors = errors
        details = "; ".join(f"{'.'.join(e.get('field') or []) or mutation}: {e.get('message')}" for e in errors)
        super().__init__(f"Shopify refused {mutation}: {details}")


@dataclass(frozen=True)
class Tokens:
    """A shop's Admin API credentials; `expires_at` (Unix seconds) is None for a token that does not expire."""

    access_token: str
    refresh_token: str | None = None
    expires_at: float | None = None

    def __repr__(self) -> str:
        return f"Tokens(expires_at={self.expires_at!r})"

    def secrets(self) -> dict[str, str]:
        out = {"access_token": self.access_token}
        if self.refresh_token:
            out["refresh_token"] = self.refresh_token
        if self.expires_at is not None:
            out["access_token_expires_at"] = str(int(self.expires_at))
        return out


def token_grant(answer: dict, now: float) -> Tokens:
    """The tokens of Shopify's `/admin/oauth/access_token` answer."""
    expires_in = answer.get("expires_in")
    return Tokens(access_token=str(answer["access_token"]), refresh_token=answer.get("refresh_token"),
                  expires_at=now + float(expires_in) if expires_in else None)


class TokenSource:
    """The current access token, refreshed with the app's credentials before it expires. Each refresh is
    handed to `save` (the connection's stored secrets), since Shopify's next refresh needs the new refresh
    token."""

    def __init__(self, tokens: Tokens, *, api_base: str, app: dict[str, str] | None = None,
                 save: Callable[[Tokens], None] | None = None, clock: Callable[[], float] = time.time):
        self._tokens = tokens
        self._api_base = api_base
        self._app = app or {}
        self._save = save
        self._clock = clock
        self._lock = threading.Lock()
        self.refreshes = 0

    @property
    def can_refresh(self) -> bool:
        return bool(self._tokens.refresh_token and self._app.get("client_id") and self._app.get("client_secret"))

    def access_token(self, http: httpx.Client, *, refused: str | None = None) -> str:
        """The token to send; a new one when it expires soon, or when Shopify just `refused` this one."""
        with self._lock:
            tokens = self._tokens
            if refused is not None and refused == tokens.access_token and self.can_refresh:
                return self._renew(http, tokens)
            if tokens.expires_at is None or tokens.expires_at - self._clock() > REFRESH_AHEAD_SECONDS:
                return tokens.access_token
            if not tokens.refresh_token or not self._app.get("client_id") or not self._app.get("client_secret"):
                if tokens.expires_at > self._clock():
                    return tokens.access_token
                raise InvalidCredentials("The Shopify access token has expired and cannot be refreshed: reinstall "
                                         "the SparkLayer app from your Shopify admin")
            return self._renew(http, tokens)

    def _renew(self, http: httpx.Client, tokens: Tokens) -> str:
        self._tokens = self._refresh(http, tokens)
        self.refreshes += 1
        if self._save is not None:
            self._save(self._tokens)
        return self._tokens.access_token

    def _refresh(self, http: httpx.Client, tokens: Tokens) -> Tokens:
        try:
            answer = http.post(f"{self._api_base}/admin/oauth/access_token", json={
                "client_id": self._app["client_id"], "client_secret": self._app["client_secret"],
                "refresh_token": tokens.refresh_token, "grant_type": "refresh_token"})
        except httpx.HTTPError as exc:
            raise PlatformUnavailable(f"Shopify did not answer the token refresh ({type(exc).__name__})") from None
        if answer.status_code in (400, 401):
            raise InvalidCredentials("Shopify refused to refresh the access token: reinstall the SparkLayer app "
                                     "from your Shopify admin")
        if answer.status_code != 200:
            raise PlatformUnavailable(f"Shopify answered the token refresh with {answer.status_code}")
        return token_grant(answer.json(), self._clock())


@dataclass
class _Bucket:
    available: float
    maximum: float
    restore_rate: float
    read_at: float

    def predicted(self, now: float) -> float:
        return min(self.maximum, self.available + (now - self.read_at) * self.restore_rate)


UNREAD_BUCKET = _Bucket(available=0.0, maximum=1000.0, restore_rate=100.0, read_at=0.0)
"""The bucket assumed before Shopify has reported one: the smallest published (Standard's 100 points/s, 1,000
points), so a worker's first queries cannot overdraw a bigger plan's."""


class ShopifyClient:
    """POSTs GraphQL documents to a shop's Admin API (version `API_VERSION`), only where `outbound` allows.
    `budget` is the shop's cost bucket shared with every other worker (a sync's); without it, this client
    paces itself by the last bucket Shopify reported to it. `time_scale` shrinks every wait (tests only)."""

    def __init__(self, api_base: str, tokens: TokenSource, *, budget: SharedCostBucket | None = None,
                 http_client: httpx.Client | None = None,
                 timeout: float = 60.0, time_scale: float = 1.0, sleep: Callable[[float], None] = time.sleep,
                 retry: RetryPolicy = RETRY, deadline_seconds: float | None = None,
                 outbound: OutboundPolicy = PUBLIC_ONLY):
        self.api_base = str(outbound.check_url(api_base)).rstrip("/")
        self.graphql_url = f"{self.api_base}/admin/api/{API_VERSION}/graphql.json"
        self.tokens = tokens
        self._http = http_client or httpx.Client(timeout=timeout, transport=outbound.transport(),
                                                 follow_redirects=False)
        self._owns_http = http_client is None
        self.time_scale = time_scale
        self._sleep = sleep
        self.retry = retry if deadline_seconds is None else replace(retry, deadline_seconds=deadline_seconds)
        self.budget = budget
        self._bucket: _Bucket | None = None
        self._costs: dict[str, float] = {}
        self._lock = threading.Lock()
        self.requests_sent = 0
        self.throttled_answers = 0
        self.paced_waits = 0

    def __repr__(self) -> str:
        return f"ShopifyClient(api_base={self.api_base!r})"

    def close(self) -> None:
        if self.budget is not None:
            self.budget.close()
        if self._owns_http:
            self._http.close()

    # ---- the cost bucket ----

    def _pace(self, query: str) -> None:
        """Wait until the bucket, as last read, holds what `query` cost last time (or the most any query may)."""
        with self._lock:
            bucket = self._bucket
            if bucket is None:
                return
            needed = self._costs.get(query, MAX_QUERY_COST)
            lacking = min(needed, bucket.maximum) - bucket.predicted(time.monotonic())
            if lacking <= 0:
                return
            wait = lacking / bucket.restore_rate
            self.paced_waits += 1
        self._sleep(wait * self.time_scale)

    def _take(self, query: str) -> float:
        """Before sending `query`: with a shared budget, reserve what it last cost (the points reserved);
        without one, wait for this client's own reading of the bucket."""
        if self.budget is None:
            self._pace(query)
            return 0.0
        with self._lock:
            bucket = self._bucket or UNREAD_BUCKET
            needed = min(self._costs.get(query, MAX_QUERY_COST), bucket.maximum)
        if self.budget.reserve(needed, maximum=bucket.maximum, restore_rate=bucket.restore_rate):
            self.paced_waits += 1
        return needed

    def _give_back(self, reserved: float, charged: float, held_seconds: float) -> None:
        """Settle a reservation with what Shopify charged: a query that cost less than reserved, or one that
        was throttled (nothing) or never answered (nothing, as far as we can tell)."""
        if self.budget is not None and reserved:
            self.budget.settle(reserved, charged, restore_rate=(self._bucket or UNREAD_BUCKET).restore_rate,
                               held_seconds=held_seconds)

    def _read_cost(self, query: str, body: dict) -> dict | None:
        cost = ((body.get("extensions") or {}).get("cost")) or {}
        status = cost.get("throttleStatus") or {}
        try:
            if status:
                self._bucket = _Bucket(float(status["currentlyAvailable"]), float(status["maximumAvailable"]),
                                       max(float(status["restoreRate"]), 1e-6), time.monotonic())
            if cost.get("requestedQueryCost") is not None:
                self._costs[query] = float(cost["requestedQueryCost"])
        except (KeyError, TypeError, ValueError):
            return None
        return cost

    # ---- requests ----

    def execute(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """The `data` of one GraphQL request. Throttling waits are not failures; network errors and 5xx are
        retried a few times; every wait is bounded and so is the whole call (`RETRY`)."""
        failures = throttled = 0
        refused: str | None = None
        deadline = self.retry.deadline()
        while True:
            reserved = self._take(query)
            reserved_at = time.monotonic()
            charged = 0.0
            try:
                token = self.tokens.access_token(self._http, refused=refused)
                self.requests_sent += 1
                try:
                    response = self._http.post(self.graphql_url, json={"query": query, "variables": variables or {}},
                                               headers={"X-Shopify-Access-Token": token, "Accept": "application/json"})
                except httpx.HTTPError as exc:
                    failures += 1
                    self._retry_or_give_up(deadline, failures, self.retry.backoff(failures),
                                           f"did not answer ({type(exc).__name__})")
                    continue
                status = response.status_code
                if status == 401 and refused is None and self.tokens.can_refresh:
                    refused = token  # expired or revoked early: refresh once and send again
                    continue
                if status in (401, 403):
                    raise InvalidCredentials("Shopify refused the access token: reinstall the SparkLayer app from your "
                                             "Shopify admin, or check the custom app's Admin API access token")
                if status == 429:
                    throttled += 1
                    self._throttled(deadline, throttled, self.retry.rate_limit_wait(response.headers.get("retry-after"),
                                                                                    throttled - 1))
                    continue
                if 300 <= status < 400:
                    raise PlatformError(f"Shopify answered {status} (a redirect); check the shop's myshopify.com domain")
                if status >= 500:
                    failures += 1
                    self._retry_or_give_up(deadline, failures, self.retry.backoff(failures), f"answered {status}")
                    continue
                body = _json(response)
                with self._lock:
                    cost = self._read_cost(query, body)
                charged = _charged(cost)
                errors = body.get("errors")
                if errors and _throttled(errors):
                    throttled += 1
                    self.throttled_answers += 1
                    self._throttled(deadline, throttled, self._refill_seconds(cost))
                    continue
                if errors:
                    messages = [str(e.get("message", e)) if isinstance(e, dict) else str(e)
                                for e in (errors if isinstance(errors, list) else [errors])]
                    raise ShopifyQueryError(messages)
                if status >= 400:
                    raise PlatformError(f"Shopify answered {status}")
                return body.get("data") or {}
            finally:
                self._give_back(reserved, charged, time.monotonic() - reserved_at)

    def _refill_seconds(self, cost: dict | None) -> float:
        """How long until the bucket holds the cost a THROTTLED answer asked for."""
        cost = cost or {}
        try:
            status = cost["throttleStatus"]
            lacking = float(cost["requestedQueryCost"]) - float(status["currentlyAvailable"])
            return max(lacking, 1.0) / max(float(status["restoreRate"]), 1e-6)
        except (KeyError, TypeError, ValueError):
            return self.retry.base_delay

    def _throttled(self, deadline: Deadline, throttled: int, wait: float) -> None:
        if throttled > self.retry.max_rate_limit_waits:
            raise PlatformUnavailable(f"Shopify throttled {throttled} requests in a row; try again later")
        self._retry_or_give_up(deadline, 0, min(wait, self.retry.max_retry_after), "throttled every request")

    def _retry_or_give_up(self, deadline: Deadline, failures: int, wait: float, what: str) -> None:
        scaled = wait * self.time_scale
        if failures >= self.retry.max_attempts or not deadline.allows(scaled):
            raise PlatformUnavailable(f"Shopify at {self.api_base} {what}; try again later")
        self._sleep(scaled)

    def paginate(self, query: str, variables: dict[str, Any], connection: str | tuple[str, ...], page_size: int
                 ) -> Iterator[list]:
        """Each page's `nodes` of `connection` (a top-level field, or the path to a nested one such as
        `("priceList", "prices")`), following `pageInfo.endCursor`. A null on the path (the object went while
        it was read) ends the pages."""
        path = (connection,) if isinstance(connection, str) else connection
        after = None
        while True:
            page: Any = self.execute(query, {**variables, "first": page_size, "after": after})
            for field in path:
                page = page.get(field) if page is not None else None
            if page is None:
                return
            yield [node for node in page.get("nodes") or [] if node]
            info = page.get("pageInfo") or {}
            if not info.get("hasNextPage"):
                return
            if not info.get("endCursor"):
                raise PlatformError(f"Shopify said {'.'.join(path)} has more pages but gave no cursor to read them")
            after = info["endCursor"]

    @contextlib.contextmanager
    def download(self, url: str) -> Iterator[Iterator[str]]:
        """The lines of a bulk operation's result file at `url`, streamed, only where the outbound policy allows;
        no Shopify token goes with it (the file is on Shopify's storage, signed in its URL)."""
        try:
            with self._http.stream("GET", url) as response:
                if response.status_code != 200:
                    raise PlatformUnavailable(f"Shopify's bulk operation result answered {response.status_code}")
                yield response.iter_lines()
        except httpx.HTTPError as exc:
            raise PlatformUnavailable(f"Shopify's bulk operation result could not be read ({type(exc).__name__})") from None

    def mutate(self, query: str, variables: dict[str, Any], mutation: str) -> dict[str, Any]:
        payload = self.execute(query, variables)[mutation]
        if payload is None:
            raise PlatformError(f"Shopify answered {mutation} with nothing")
        if payload.get("userErrors"):
            raise ShopifyUserError(mutation, payload["userErrors"])
        return payload


def _charged(cost: dict | None) -> float:
    """The points an answer says it cost (none when it was throttled)."""
    try:
        return float((cost or {}).get("actualQueryCost") or 0)
    except (TypeError, ValueError):
        return 0.0


def _throttled(errors: Any) -> bool:
    return isinstance(errors, list) and any(
        isinstance(e, dict) and (e.get("extensions") or {}).get("code") == "THROTTLED" for e in errors)


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        raise PlatformError(f"Shopify answered {response.status_code} with a body that is not JSON") from None
    if not isinstance(body, dict):
        raise PlatformError(f"Shopify answered {response.status_code} with JSON that is not an object")
    return body
