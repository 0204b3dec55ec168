"""SparkLayer's Dashboard API: registering a merchant, linking the new site to their platform store, and the
site's onboarding steps (the platform-initiated connection flow of the platform-connection seed).

The Dashboard API is not public ("provided on request"): every path, body and answer below is our decision,
in one table, and CONTRACTS.md ("SparkLayer Dashboard API") says so; a confirmed contract changes this file
and the simulator's, nothing else. Calls carry `Authorization: Bearer $SPARKLAYER_DASHBOARD_TOKEN`.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

import httpx

from ignite_etl.sparklayer.endpoints import Endpoint
from ignite_etl.sparklayer.errors import SparkLayerError
from ignite_etl.sparklayer.transport import USER_AGENT, describe_refusal

log = logging.getLogger(__name__)

REGISTER_USER = Endpoint("register_user", "POST", "/v1/users")
CREATE_PLATFORM_CONNECTION = Endpoint(
    "create_platform_connection", "POST", "/v1/sites/{site_env}/{site_id}/platform-connection"
)
ONBOARDING_STEPS = Endpoint("onboarding_steps", "GET", "/v1/sites/{site_env}/{site_id}/onboarding-steps")

ATTEMPTS = 3
"""A merchant is waiting: three tries, a second apart at most, on 5xx, 429 or no answer."""


class DashboardRefused(SparkLayerError):
    """The Dashboard API refused the call (4xx): `status` and SparkLayer's `problems` ({code, message, property})."""

    def __init__(self, status: int, message: str, problems: list[dict] | None = None):
        super().__init__(message)
        self.status = status
        self.problems = problems or []


class DashboardUnavailable(SparkLayerError):
    """The Dashboard API did not answer, or kept answering 5xx or 429."""


@dataclass(frozen=True)
class Registration:
    """What SparkLayer needs to register a merchant; the password is passed through, never stored."""

    name: str
    email: str
    company: str
    password: str = field(repr=False)
    platform: str
    store_id: str


@dataclass(frozen=True)
class RegisteredSite:
    user_id: str
    site_env: str
    site_id: str
    dashboard_url: str | None


@dataclass(frozen=True)
class OnboardingStep:
    key: str
    title: str
    completed: bool
    url: str | None = None


class DashboardClient:
    """`async with DashboardClient(url, token) as dashboard: await dashboard.register(...)`."""

    def __init__(self, base_url: str, token: str, *, timeout: float = 15.0, retry_wait: float = 0.5,
                 transport: httpx.AsyncBaseTransport | None = None):
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"), timeout=timeout, transport=transport, follow_redirects=False,
            headers={"Authorization": f"Bearer {token}", "User-Agent": USER_AGENT, "Accept": "application/json"},
        )
        self._retry_wait = retry_wait

    def __repr__(self) -> str:
        return f"DashboardClient({self._client.base_url})"

    async def __aenter__(self) -> DashboardClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._client.aclose()

    async def register(self, registration: Registration, *, idempotency_key: str) -> RegisteredSite:
        """Register the merchant and create their site. The same `idempotency_key` with the same body answers
        the first registration again, so a retry after a lost answer does not meet its own 409."""
        body = {"name": registration.name, "email": registration.email, "company": registration.company,
                "password": registration.password, "platform": registration.platform,
                "store_id": registration.store_id}
        answer = await self._call(REGISTER_USER, json=body, headers={"Idempotency-Key": idempotency_key})
        return RegisteredSite(user_id=str(answer["user_id"]), site_env=str(answer["site_env"]),
                              site_id=str(answer["site_id"]), dashboard_url=answer.get("dashboard_url"))

    async def create_platform_connection(self, site_env: str, site_id: str, *, platform: str, store_id: str) -> str:
        """Ask SparkLayer to link the site to the store; SparkLayer then calls our New Platform Connection
        endpoint with the site's API credentials. Repeating it repeats that call (ours is idempotent)."""
        answer = await self._call(CREATE_PLATFORM_CONNECTION, site_env=site_env, site_id=site_id,
                                  json={"platform": platform, "store_id": store_id})
        return str(answer.get("status") or "")

    async def onboarding_steps(self, site_env: str, site_id: str) -> list[OnboardingStep]:
        answer = await self._call(ONBOARDING_STEPS, site_env=site_env, site_id=site_id)
        return [OnboardingStep(key=str(step.get("key")), title=str(step.get("title")),
                               completed=bool(step.get("completed")), url=step.get("url"))
                for step in answer.get("steps") or [] if isinstance(step, dict)]

    async def _call(self, endpoint: Endpoint, *, json: dict[str, Any] | None = None,
                    headers: dict[str, str] | None = None, **params: str) -> dict[str, Any]:
        path = endpoint.url_path(**params)
        for attempt in range(1, ATTEMPTS + 1):
            try:
                response = await self._client.request(endpoint.method, path, json=json, headers=headers)
            except httpx.HTTPError as exc:
                failure = f"{type(exc).__name__}"
            else:
                if response.status_code < 400:
                    payload = response.json() if response.content else {}
                    return payload if isinstance(payload, dict) else {}
                message, problems = describe_refusal(response)
                if response.status_code < 500 and response.status_code != 429:
                    raise DashboardRefused(response.status_code, message, problems)
                failure = f"HTTP {response.status_code}"
            log.warning("dashboard %s: %s (attempt %d of %d)", endpoint.name, failure, attempt, ATTEMPTS)
            if attempt < ATTEMPTS:
                await asyncio.sleep(self._retry_wait * attempt)
        raise DashboardUnavailable(f"SparkLayer's Dashboard API did not answer {endpoint.name} ({failure})")
