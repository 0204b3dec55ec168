"""The simulated Dashboard API (`/dashboard/v1/...`): merchant registration, a site's platform connection,
onboarding steps. SparkLayer does not publish this API; the simulator enforces exactly the contract we
decided (CONTRACTS.md, "SparkLayer Dashboard API"; client in `ignite_etl/sparklayer/dashboard.py`):

- every call needs `Authorization: Bearer <partner token>`;
- registration creates a `live` site with API client credentials; an email registers once (409 after);
  an `Idempotency-Key` answers its first registration again (422 when reused for another body);
- a platform connection answers 202 and then calls the integration's New Platform Connection endpoint,
  as SparkLayer does, with the site's credentials (from another thread, after answering);
- onboarding steps follow the site: connected once the integration answered `connected`, products synced
  once a full products sync log succeeded.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any

import httpx
from pydantic import Field, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ignite_etl.problem import problem
from ignite_etl.sandbox.sparklayer.schemas import Strict, parse, problems_of

if TYPE_CHECKING:
    from ignite_etl.sandbox.sparklayer.sandbox import SparkLayerSandbox

REGISTRATION_ENV = "live"
Text = Annotated[str, Field(min_length=1, max_length=255)]


class RegistrationIn(Strict):
    name: Text
    email: Annotated[str, Field(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
    company: Text
    password: Annotated[str, Field(min_length=8, max_length=255)]
    platform: Annotated[str, Field(min_length=1, max_length=50)]
    store_id: Text


class PlatformConnectionIn(Strict):
    platform: Annotated[str, Field(min_length=1, max_length=50)]
    store_id: Text


@dataclass
class Registered:
    """A merchant the Dashboard API registered, and their site."""

    user_id: str
    email: str
    company: str
    site_env: str
    site_id: str
    platform: str
    store_id: str
    password_sha256: str = field(repr=False)
    connection: dict[str, Any] | None = None  # what the integration last answered to the connect call
    connect_calls: list[dict[str, Any]] = field(default_factory=list)


class DashboardSimulator:
    def __init__(self, sandbox: SparkLayerSandbox):
        self._sandbox = sandbox
        self._lock = threading.RLock()
        self.token: str | None = None
        self.integration_url: str | None = None
        self.integration_token: str | None = None
        self.registered: dict[str, Registered] = {}  # by email, lower case
        self._replays: dict[str, tuple[str, int, dict[str, Any]]] = {}  # key -> (body hash, status, answer)
        self._threads: list[threading.Thread] = []

    def configure(self, *, token: str, integration_url: str, integration_token: str) -> None:
        """The partner token our integration presents, and where (with which bearer token) SparkLayer calls
        the integration's Ignite endpoints."""
        self.token = token
        self.integration_url = integration_url.rstrip("/")
        self.integration_token = integration_token

    def site(self, site_env: str, site_id: str) -> Registered | None:
        with self._lock:
            return next((r for r in self.registered.values() if (r.site_env, r.site_id) == (site_env, site_id)), None)

    def wait_for_connect_calls(self, timeout: float = 30.0) -> None:
        """Tests: let the connect calls made so far finish."""
        for thread in list(self._threads):
            thread.join(timeout)

    # --- HTTP ---------------------------------------------------------------------------------

    def routes(self) -> list[Route]:
        return [
            Route("/dashboard/v1/users", self._register, methods=["POST"]),
            Route("/dashboard/v1/sites/{site_env}/{site_id}/platform-connection", self._connect, methods=["POST"]),
            Route("/dashboard/v1/sites/{site_env}/{site_id}/onboarding-steps", self._onboarding, methods=["GET"]),
        ]

    def _refusal(self, request: Request) -> Response | None:
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if not self.token or scheme.lower() != "bearer" or not hmac.compare_digest(given.encode(), self.token.encode()):
            return problem(401, "A valid Dashboard API bearer token is required.")
        return None

    async def _register(self, request: Request) -> Response:
        refusal = self._refusal(request)
        if refusal is not None:
            return refusal
        raw = await request.body()
        try:
            body: RegistrationIn = parse(RegistrationIn, raw)
        except ValidationError as exc:
            return problem(400, "The registration is invalid.", errors=problems_of(exc))
        key = request.headers.get("idempotency-key")
        body_hash = hashlib.sha256(raw).hexdigest()
        with self._lock:
            if key and key in self._replays:
                first_hash, status, answer = self._replays[key]
                if first_hash != body_hash:
                    return problem(422, "This Idempotency-Key was used for another registration.")
                return JSONResponse(answer, status_code=status)
            if body.email.lower() in self.registered:
                return problem(409, f"A SparkLayer account for {body.email} already exists.",
                               errors=[{"code": "duplicate", "message": "this email is already registered",
                                        "property": "email"}])
            site_id = self._new_site_id(body.company)
            client_id, client_secret = f"client-{secrets.token_hex(6)}", secrets.token_urlsafe(24)
            self._sandbox.add_site(REGISTRATION_ENV, site_id, client_id, client_secret)
            user = Registered(user_id=f"us_{secrets.token_hex(8)}", email=body.email, company=body.company,
                              site_env=REGISTRATION_ENV, site_id=site_id, platform=body.platform,
                              store_id=body.store_id, password_sha256=hashlib.sha256(body.password.encode()).hexdigest())
            self.registered[body.email.lower()] = user
            answer = {"user_id": user.user_id, "site_env": user.site_env, "site_id": site_id,
                      "dashboard_url": f"{str(request.base_url).rstrip('/')}/_sandbox/sites/{user.site_env}/{site_id}"}
            if key:
                self._replays[key] = (body_hash, 201, answer)
        return JSONResponse(answer, status_code=201)

    def _new_site_id(self, company: str) -> str:
        base = re.sub(r"[^a-z0-9]+", "-", company.lower()).strip("-")[:40] or "site"
        taken = {r.site_id for r in self.registered.values()}
        candidate, n = base, 1
        while candidate in taken:
            n += 1
            candidate = f"{base}-{n}"
        return candidate

    async def _connect(self, request: Request) -> Response:
        refusal = self._refusal(request)
        if refusal is not None:
            return refusal
        try:
            body: PlatformConnectionIn = parse(PlatformConnectionIn, await request.body())
        except ValidationError as exc:
            return problem(400, "The platform connection is invalid.", errors=problems_of(exc))
        user = self.site(request.path_params["site_env"], request.path_params["site_id"])
        if user is None:
            return problem(404, "No site registered through the Dashboard API has this environment and id.")
        if not self.integration_url:
            return problem(500, "The simulator has no integration URL configured (DashboardSimulator.configure).")
        thread = threading.Thread(target=self._call_integration, args=(user, body), daemon=True,
                                  name=f"dashboard-connect-{user.site_id}")
        self._threads.append(thread)
        thread.start()
        return JSONResponse({"status": "connecting"}, status_code=202)

    def _call_integration(self, user: Registered, body: PlatformConnectionIn) -> None:
        """SparkLayer's New Platform Connection call, with the site's API credentials."""
        site = self._sandbox.site_credentials(user.site_env, user.site_id)
        payload = {"store_id": body.store_id, "spark_api_client_id": site[0], "spark_api_client_secret": site[1],
                   "extra_config": {"platform": body.platform}}
        outcome: dict[str, Any]
        try:
            answer = httpx.post(f"{self.integration_url}/v1/{user.site_env}/{user.site_id}", json=payload,
                                headers={"Authorization": f"Bearer {self.integration_token}"}, timeout=30)
            outcome = {"status_code": answer.status_code, "answer": answer.json() if answer.content else None}
        except (httpx.HTTPError, ValueError) as exc:
            outcome = {"status_code": None, "answer": type(exc).__name__}
        with self._lock:
            user.connect_calls.append(outcome)
            if outcome["status_code"] == 200 and isinstance(outcome["answer"], dict):
                user.connection = outcome["answer"]

    async def _onboarding(self, request: Request) -> Response:
        refusal = self._refusal(request)
        if refusal is not None:
            return refusal
        env, site_id = request.path_params["site_env"], request.path_params["site_id"]
        user = self.site(env, site_id)
        if user is None:
            return problem(404, "No site registered through the Dashboard API has this environment and id.")
        state = self._sandbox.state(env, site_id)
        connected = bool(user.connection and user.connection.get("status") == "connected")
        products_synced = any(key.endswith("/products") and log.get("last_full_sync_succeeded")
                              for key, log in state["sync_logs"].items())
        steps = [
            {"key": "account", "title": "Create your SparkLayer account", "completed": True},
            {"key": "platform", "title": "Connect your store", "completed": connected},
            {"key": "products", "title": "Sync your products", "completed": products_synced},
            {"key": "customers", "title": "Invite your first trade customer", "completed": bool(state["customers"])},
            {"key": "storefront", "title": "Add SparkLayer to your storefront", "completed": False},
        ]
        return JSONResponse({"steps": steps})
