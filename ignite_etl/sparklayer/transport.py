"""How one SparkLayer request is sent: headers, auth, the concurrency bound, the rate limiter and
the retry policy, each set here and nowhere else."""

from __future__ import annotations

import asyncio
import json
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
from pydantic import SecretStr, ValidationError

from ignite_etl import __version__
from ignite_etl.backoff import Deadline
from ignite_etl.sparklayer import endpoints
from ignite_etl.sparklayer.auth import TokenProvider, utc_now
from ignite_etl.sparklayer.endpoints import Endpoint
from ignite_etl.sparklayer.errors import AuthenticationFailed, RecordRejected, TransientError
from ignite_etl.sparklayer.limiter import RateLimiter
from ignite_etl.sparklayer.models import TokenAnswer
from ignite_etl.sparklayer.retry import RetryPolicy, is_retryable_status
from ignite_etl.sparklayer.token_store import TokenStore

log = logging.getLogger(__name__)

USER_AGENT = f"ignite-etl/{__version__}"
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)


@dataclass
class RequestStats:
    """What a client sent: requests per endpoint, retries after failures, waits for rate limits."""

    by_endpoint: Counter = field(default_factory=Counter)
    retries: int = 0
    rate_limited: int = 0

    def snapshot(self) -> dict[str, Any]:
        return {
            "requests": sum(self.by_endpoint.values()),
            "retries": self.retries,
            "rate_limited": self.rate_limited,
            "by_endpoint": dict(self.by_endpoint),
        }


class SparkLayerTransport:
    """Sends requests for one SparkLayer site. Use inside `async with` (it opens the HTTP pool)."""

    def __init__(
        self,
        *,
        base_url: str,
        site_id: str,
        client_id: str,
        client_secret: SecretStr,
        token_store: TokenStore,
        concurrency: int = 8,
        requests_per_second: float | None = None,
        retry: RetryPolicy | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], datetime] = utc_now,
    ):
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.base_url = base_url.rstrip("/")
        self.site_id = site_id
        self._client_id = client_id
        self._client_secret = client_secret
        self._token_store = token_store
        self.concurrency = concurrency
        self.requests_per_second = requests_per_second
        self.retry = retry or RetryPolicy()
        self._timeout = timeout
        self._transport = transport
        self._clock = clock
        self._http: httpx.AsyncClient | None = None
        self.stats = RequestStats()

    def __repr__(self) -> str:
        return f"SparkLayerTransport(base_url={self.base_url!r}, site_id={self.site_id!r})"

    async def __aenter__(self) -> SparkLayerTransport:
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            timeout=self._timeout,
            limits=httpx.Limits(max_connections=self.concurrency, max_keepalive_connections=self.concurrency),
            transport=self._transport,
        )
        self._slots = asyncio.Semaphore(self.concurrency)
        self._limiter = RateLimiter(self.requests_per_second) if self.requests_per_second else None
        self._tokens = TokenProvider(self._request_token, self._token_store, clock=self._clock)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    def headers(self, token: str | None = None) -> dict[str, str]:
        headers = {"User-Agent": USER_AGENT, "Site-Id": self.site_id, "Accept": "application/json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return headers

    async def call(
        self,
        endpoint: Endpoint,
        *,
        path_params: dict[str, str] | None = None,
        body: Any = None,
        query: dict[str, Any] | None = None,
        external_id: str | None = None,
    ) -> httpx.Response:
        """Send one authenticated request and return its 2xx answer.

        Raises RecordRejected for a permanent 4xx (naming `external_id`), TransientError when
        retries run out, AuthenticationFailed when a fresh token is refused too.
        """
        path = endpoint.url_path(**(path_params or {}))
        refreshed = False
        while True:
            token = await self._tokens.token()
            response = await self._send_with_retries(endpoint, path, body=body, query=query, token=token)
            if response.status_code == 401 and not refreshed:
                refreshed = True
                await self._tokens.replace_rejected(token)
                continue
            if response.status_code == 401:
                raise AuthenticationFailed(
                    f"SparkLayer refused a freshly issued access token for site {self.site_id!r} "
                    f"({endpoint.name}); check the site's API credentials in the SparkLayer Dashboard"
                )
            if response.is_success:
                return response
            message, problems = describe_refusal(response)
            raise RecordRejected(message, status_code=response.status_code, external_id=external_id, problems=problems)

    async def _request_token(self) -> TokenAnswer:
        body = {
            "grant_type": "client_credentials",
            "client_id": self._client_id,
            "client_secret": self._client_secret.get_secret_value(),
        }
        response = await self._send_with_retries(endpoints.TOKEN, endpoints.TOKEN.path, body=body, token=None)
        if not response.is_success:
            message, _ = describe_refusal(response)
            raise AuthenticationFailed(
                f"SparkLayer refused the API credentials of site {self.site_id!r} (HTTP {response.status_code}: "
                f"{message}); issue new ones in the SparkLayer Dashboard under Settings > API"
            )
        try:
            return TokenAnswer.model_validate(response.json())
        except (ValueError, ValidationError):
            raise TransientError("SparkLayer's token answer had no access_token", status_code=response.status_code) from None

    async def _send_with_retries(
        self, endpoint: Endpoint, path: str, *, body: Any, token: str | None, query: dict[str, Any] | None = None
    ) -> httpx.Response:
        """Send until the answer is neither retryable nor a rate limit; 429 waits are not failures."""
        failures = 0
        rate_limit_waits = 0
        deadline = self.retry.deadline()
        while True:
            if self._limiter is not None:
                await self._limiter.acquire()
            self.stats.by_endpoint[endpoint.name] += 1
            try:
                async with self._slots:
                    assert self._http is not None, "use the transport inside `async with`"
                    response = await self._http.request(
                        endpoint.method, path, json=body, params=query, headers=self.headers(token)
                    )
            except httpx.TransportError as exc:
                failures += 1
                self.stats.retries += 1
                if failures >= self.retry.max_attempts:
                    raise TransientError(
                        f"SparkLayer could not be reached for {endpoint.name} after {failures} attempts "
                        f"({exc.__class__.__name__}); try again later"
                    ) from None
                delay = self.retry.backoff(failures)
                self._within(deadline, delay, endpoint, exc.__class__.__name__)
                log.warning("%s: %s, retrying in %.2fs", endpoint.name, exc.__class__.__name__, delay)
                await asyncio.sleep(delay)
                continue
            status = response.status_code
            if status == 429:
                rate_limit_waits += 1
                self.stats.rate_limited += 1
                if rate_limit_waits > self.retry.max_rate_limit_waits:
                    raise TransientError(
                        f"SparkLayer kept rate-limiting {endpoint.name} ({rate_limit_waits} times); try again later",
                        status_code=429,
                    )
                delay = self.retry.rate_limit_wait(response.headers.get("Retry-After"), rate_limit_waits - 1)
                self._within(deadline, delay, endpoint, "rate limited", status)
                log.info("%s: rate limited, waiting %.2fs", endpoint.name, delay)
                await asyncio.sleep(delay)
                continue
            if is_retryable_status(status, retry_conflict=endpoint.retry_conflict):
                failures += 1
                self.stats.retries += 1
                if failures >= self.retry.max_attempts:
                    message, _ = describe_refusal(response)
                    raise TransientError(
                        f"SparkLayer answered HTTP {status} to {endpoint.name} {failures} times ({message}); "
                        "try again later",
                        status_code=status,
                    )
                delay = self.retry.backoff(failures)
                self._within(deadline, delay, endpoint, f"HTTP {status}", status)
                log.warning("%s: HTTP %s, retrying in %.2fs", endpoint.name, status, delay)
                await asyncio.sleep(delay)
                continue
            return response

    def _within(self, deadline: Deadline, delay: float, endpoint: Endpoint, last: str, status: int | None = None) -> None:
        if not deadline.allows(delay):
            raise TransientError(
                f"SparkLayer gave no usable answer to {endpoint.name} within {self.retry.deadline_seconds:.0f}s "
                f"(last: {last}); try again later",
                status_code=status,
            )


def describe_refusal(response: httpx.Response) -> tuple[str, list[dict]]:
    """SparkLayer's message and field errors from an error answer, whatever its shape."""
    try:
        payload = response.json()
    except (ValueError, json.JSONDecodeError):
        payload = None
    if isinstance(payload, dict):
        problems = [p for p in payload.get("errors") or [] if isinstance(p, dict)]
        parts = [str(payload.get("detail") or payload.get("title") or f"HTTP {response.status_code}")]
        parts += [_problem_text(p) for p in problems]
        return "; ".join(parts), problems
    if isinstance(payload, list):
        problems = [p for p in payload if isinstance(p, dict)]
        return "; ".join(_problem_text(p) for p in problems) or f"HTTP {response.status_code}", problems
    return f"HTTP {response.status_code} without an explanation", []


def _problem_text(problem: dict) -> str:
    where = problem.get("property") or problem.get("field")
    line = problem.get("line")
    prefix = f"line {line} " if line is not None else ""
    prefix += f"{where}: " if where else ""
    return f"{prefix}{problem.get('message', '')}".strip()
