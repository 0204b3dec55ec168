"""The SparkLayer simulator: one Starlette app standing in for both hosts (`/live/...`, `/test/...`),
with separate state per (environment, Site-Id), token auth, a rate limit, fault injection and a
journal of every request. Tests drive it through the Python API; demos through `/_sandbox/`."""

from __future__ import annotations

import asyncio
import hmac
import json
import secrets
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ignite_etl.problem import problem
from ignite_etl.sandbox.sparklayer import accounts, catalogue, sync_log
from ignite_etl.sandbox.sparklayer.admin import admin_routes
from ignite_etl.sandbox.sparklayer.calls import Call, Refused
from ignite_etl.sandbox.sparklayer.controls import Faults, JournalEntry, RateLimit
from ignite_etl.sandbox.sparklayer.dashboard import DashboardSimulator
from ignite_etl.sandbox.sparklayer.schemas import TokenIn, parse, problems_of
from ignite_etl.sandbox.sparklayer.state import SiteState, new_id

ENVIRONMENTS = ("live", "test")
DEFAULT_TOKEN_LIFETIME = 3600

API_ROUTES: list[tuple[str, str, Callable[[Call], Response]]] = [
    ("POST", "/api/v1/products", catalogue.create_product),
    ("PATCH", "/api/v1/products/{id}", catalogue.update_product),
    ("PATCH", "/api/v1/product-variants/{id}", catalogue.update_variant),
    ("POST", "/api/v1/batch-update-stock", catalogue.batch_update_stock),
    ("POST", "/api/v1/stock-locations", catalogue.create_stock_location),
    ("POST", "/api/v1/price-lists", catalogue.create_price_list),
    ("GET", "/api/v2/price-lists", catalogue.list_price_lists),
    ("PATCH", "/api/v1/price-lists/{slug}/pricing", catalogue.update_pricing),
    ("GET", "/api/v2/customers/{lookup_by}/{identifier}", accounts.get_customer),
    ("PUT", "/api/v2/customers/{lookup_by}/{identifier}", accounts.upsert_customer),
    ("DELETE", "/api/v2/customers/{lookup_by}/{identifier}", accounts.delete_customer),
    ("GET", "/api/v1/settings", accounts.list_settings),
    ("PATCH", "/api/v1/settings", accounts.patch_settings),
    ("PUT", "/api/v1/purchases/{lookup_by}/{identifier}", accounts.put_purchase),
    ("PUT", "/api/v1/sync-log/{integration}/{data_type}", sync_log.put_sync_log),
    ("PATCH", "/api/v1/sync-log/{integration}/{data_type}", sync_log.patch_sync_log),
    ("GET", "/api/v1/sync-log/{integration}/{data_type}", sync_log.get_sync_log),
    ("GET", "/api/v1/sync-log/{integration}/{data_type}/errors", sync_log.get_sync_log_errors),
    ("DELETE", "/api/v1/sync-log", sync_log.delete_sync_logs),
]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class IssuedToken:
    env: str
    site_id: str
    expires_at: datetime


class SparkLayerSandbox:
    """`sandbox = SparkLayerSandbox(); sandbox.add_site("test", "bobs-store", "id", "secret")`, then
    serve `sandbox.app` (e.g. with BackgroundServer) and point a client at `<url>/test`."""

    def __init__(
        self,
        *,
        token_lifetime: int = DEFAULT_TOKEN_LIFETIME,
        max_batch_size: int | None = 500,
        clock: Callable[[], datetime] = utc_now,
        monotonic: Callable[[], float] = time.monotonic,
    ):
        self.token_lifetime = token_lifetime
        self.max_batch_size = max_batch_size
        self._clock = clock
        self._monotonic = monotonic
        self._lock = threading.RLock()
        self._sites: dict[tuple[str, str], SiteState] = {}
        self._tokens: dict[str, IssuedToken] = {}
        self._journal: list[JournalEntry] = []
        self._in_flight: dict[tuple[str, str], int] = defaultdict(int)
        self.faults = Faults()
        self.rate_limit: RateLimit | None = None
        self.dashboard = DashboardSimulator(self)
        routes = [Route("/{env}/api/auth/token", self._api_endpoint(None), methods=["POST"])]
        routes += [Route("/{env}" + path, self._api_endpoint(handler), methods=[method]) for method, path, handler in API_ROUTES]
        self.app = Starlette(routes=admin_routes(self) + self.dashboard.routes() + routes)

    def __repr__(self) -> str:
        return f"SparkLayerSandbox(sites={sorted(self._sites)})"

    # --- Python API -------------------------------------------------------------------------

    def add_site(
        self,
        env: str,
        site_id: str,
        client_id: str,
        client_secret: str,
        *,
        customer_groups: list[str] | None = None,
        settings_api_allowed: bool = True,
    ) -> None:
        """A site with API credentials and no data: like a real one, it has no stock location until one
        is created through the API."""
        if env not in ENVIRONMENTS:
            raise ValueError(f"env must be one of {ENVIRONMENTS}")
        site = SiteState(env, site_id, client_id, client_secret, settings_api_allowed=settings_api_allowed)
        if customer_groups is not None:
            site.customer_groups = set(customer_groups) | {"base"}
        with self._lock:
            self._sites[(env, site_id)] = site

    def site_credentials(self, env: str, site_id: str) -> tuple[str, str]:
        """The site's API client id and secret (what SparkLayer hands an integration on connect)."""
        with self._lock:
            site = self._site(env, site_id)
            return site.client_id, site.client_secret

    def state(self, env: str, site_id: str) -> dict[str, Any]:
        """A copy of everything the site holds."""
        with self._lock:
            return self._site(env, site_id).snapshot()

    def delete_stock_location(self, env: str, site_id: str, external_id: str) -> None:
        """What a merchant can do in the SparkLayer dashboard: the location goes, with its stock."""
        with self._lock:
            site = self._site(env, site_id)
            site.stock_locations.pop(external_id)
            site.stock = {key: value for key, value in site.stock.items() if key[1] != external_id}

    def add_customer_group(self, env: str, site_id: str, name: str) -> None:
        """What a merchant does in the SparkLayer dashboard before customers can be put in a group."""
        with self._lock:
            self._site(env, site_id).customer_groups.add(name)

    def edit_price_list(self, env: str, site_id: str, slug: str, **fields: Any) -> None:
        """What a merchant can do in the SparkLayer dashboard, and the API cannot: change a list's name or
        currency."""
        with self._lock:
            self._site(env, site_id).price_lists[slug].update(fields)

    def register_customer(self, env: str, site_id: str, email: str, first_name: str, last_name: str,
                          **fields: Any) -> str:
        """A buyer registering on SparkLayer's storefront (or a customer the merchant adds in the Dashboard): a
        customer with no platform id yet, which SparkLayer then asks the platform to create (Ignite's `PUT
        …/customers`); its SparkLayer id."""
        with self._lock:
            moment = datetime.now(UTC).isoformat()
            customer_id = new_id()
            self._site(env, site_id).customers[customer_id] = {
                "id": customer_id, "email": email, "first_name": first_name, "last_name": last_name, **fields,
                "created_at": moment, "updated_at": moment}
            return customer_id

    def edit_customer(self, env: str, site_id: str, external_id: str, **fields: Any) -> dict[str, Any]:
        """What a merchant can do in the SparkLayer dashboard: set fields of a customer (group, price lists,
        credit, ...) that the platform does not own."""
        with self._lock:
            customer = self._site(env, site_id).find_customer("platform", external_id)
            if customer is None:
                raise KeyError(f"no customer {external_id!r}")
            customer.update(fields)
            return dict(customer)

    def journal(self, *, env: str | None = None, site_id: str | None = None,
                path_contains: str | None = None) -> list[JournalEntry]:
        with self._lock:
            return [
                entry for entry in self._journal
                if (env is None or entry.env == env) and (site_id is None or entry.site_id == site_id)
                and (path_contains is None or path_contains in entry.path)
            ]

    def clear_journal(self) -> None:
        with self._lock:
            self._journal.clear()

    def set_faults(self, **changes: Any) -> None:
        """Change fault settings, e.g. `set_faults(latency_seconds=0.05, error_rate=0.1)`."""
        with self._lock:
            self.faults = replace(self.faults, **changes)

    def fail_next(self, count: int, status: int = 503, *, path_contains: str | None = None) -> None:
        """Answer the next `count` API calls (whose path contains `path_contains`) with `status`."""
        self.set_faults(fail_next=count, fail_next_status=status, fail_next_path_contains=path_contains)

    def start_outage(self, seconds: float) -> None:
        self.set_faults(outage_until=self._monotonic() + seconds)

    def reject_record(self, key: str, message: str) -> None:
        """Refuse with a 400 any write naming this external_id or sku."""
        with self._lock:
            self.faults.rejected_records[key] = message

    def set_rate_limit(self, requests: int | None, window_seconds: float = 1.0) -> None:
        with self._lock:
            self.rate_limit = RateLimit(requests, window_seconds) if requests else None

    def revoke_tokens(self) -> int:
        """Every access token issued so far stops working (as a rotated API credential's would)."""
        with self._lock:
            revoked = len(self._tokens)
            self._tokens.clear()
            return revoked

    def set_token_lifetime(self, seconds: int) -> None:
        self.token_lifetime = seconds

    def reset(self) -> None:
        """Forget all data, tokens, faults and the journal; keep the registered sites' credentials."""
        with self._lock:
            self._sites = {
                key: SiteState(s.env, s.site_id, s.client_id, s.client_secret, settings_api_allowed=s.settings_api_allowed,
                               customer_groups=set(s.customer_groups))
                for key, s in self._sites.items()
            }
            self._tokens.clear()
            self._journal.clear()
            self.faults = Faults()
            self.rate_limit = None

    # --- HTTP ---------------------------------------------------------------------------------

    def _api_endpoint(self, handler: Callable[[Call], Response] | None):
        async def endpoint(request: Request) -> Response:
            env = request.path_params["env"]
            site_id = request.headers.get("site-id")
            raw = await request.body()
            key = (env, site_id or "")
            self._in_flight[key] += 1
            in_flight = self._in_flight[key]
            arrived = self._monotonic()
            try:
                response, fault = await self._answer(request, handler, env, site_id, raw)
            finally:
                self._in_flight[key] -= 1
            self._record(request, env, site_id, response.status_code, raw, in_flight, arrived, fault)
            return response

        return endpoint

    async def _answer(self, request: Request, handler, env: str, site_id: str | None, raw: bytes) -> tuple[Response, str | None]:
        if env not in ENVIRONMENTS:
            return problem(404, f"No environment {env!r}; use /live or /test."), None
        if self.faults.latency_seconds:
            await asyncio.sleep(self.faults.latency_seconds)
        injected = self._injected_fault(request.url.path)
        if injected is not None:
            return injected
        if site_id and self.rate_limit is not None:
            with self._lock:
                wait = self.rate_limit.retry_after((env, site_id), self._monotonic())
            if wait is not None:
                return problem(429, "Too many requests; retry later.", headers={"Retry-After": str(wait)}), "rate_limit"
        if not site_id:
            return problem(400, "The Site-Id header is required."), None
        if handler is None:
            return self._issue_token(request, env, site_id, raw), None
        refusal = self._check_token(request, env, site_id)
        if refusal is not None:
            return refusal, None
        if self.max_batch_size and _item_count(raw) > self.max_batch_size and raw.lstrip().startswith(b"["):
            return problem(400, f"A batch holds at most {self.max_batch_size} items."), None
        with self._lock:
            call = Call(self._sites[(env, site_id)], dict(request.path_params), dict(request.query_params), raw,
                        self._clock(), dict(self.faults.rejected_records))
            try:
                return handler(call), None
            except Refused as refused:
                return refused.response, None

    def _injected_fault(self, path: str) -> tuple[Response, str] | None:
        with self._lock:
            faults = self.faults
            if faults.outage_until is not None and self._monotonic() < faults.outage_until:
                return problem(503, "SparkLayer is unavailable (simulated outage)."), "outage"
            if faults.fail_next > 0 and (faults.fail_next_path_contains is None or faults.fail_next_path_contains in path):
                faults.fail_next -= 1
                status = faults.fail_next_status
                headers = {"Retry-After": "1"} if status == 429 else None
                return problem(status, f"Simulated HTTP {status}.", headers=headers), f"fail_next:{status}"
            if faults.error_rate and faults.random.random() < faults.error_rate:
                return problem(faults.error_status, "Simulated random failure."), f"error_rate:{faults.error_status}"
        return None

    def _issue_token(self, request: Request, env: str, site_id: str, raw: bytes) -> Response:
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            return problem(400, "The token request must be a JSON body; form-encoded bodies are not accepted.")
        try:
            body: TokenIn = parse(TokenIn, raw)
        except ValidationError as exc:
            return problem(400, "The token request body is invalid.", errors=problems_of(exc))
        with self._lock:
            site = self._sites.get((env, site_id))
            valid = (
                site is not None
                and hmac.compare_digest(site.client_id.encode(), body.client_id.encode())
                and hmac.compare_digest(site.client_secret.encode(), body.client_secret.encode())
            )
            if not valid:
                return problem(401, "The client credentials are not valid for this Site-Id and environment.")
            token = secrets.token_urlsafe(24)
            lifetime = self.token_lifetime
            self._tokens[token] = IssuedToken(env, site_id, self._clock() + timedelta(seconds=lifetime))
        return JSONResponse({"access_token": token, "token_type": "Bearer", "expires_in": lifetime})

    def _check_token(self, request: Request, env: str, site_id: str) -> Response | None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return problem(401, "A bearer access token is required.")
        with self._lock:
            issued = self._tokens.get(token)
        if issued is None:
            return problem(401, "The access token is not valid.")
        if (issued.env, issued.site_id) != (env, site_id):
            return problem(401, "The access token was issued for another site or environment.")
        if issued.expires_at <= self._clock():
            return problem(401, "The access token has expired.")
        return None

    def _record(self, request: Request, env: str, site_id: str | None, status: int, raw: bytes,
                in_flight: int, arrived: float, fault: str | None) -> None:
        with self._lock:
            self._journal.append(JournalEntry(
                seq=len(self._journal) + 1, method=request.method, path=request.url.path, env=env,
                site_id=site_id, status=status, body_bytes=len(raw), item_count=_item_count(raw),
                in_flight=in_flight, arrived=arrived, at=self._clock().isoformat(), fault=fault,
            ))

    def _site(self, env: str, site_id: str) -> SiteState:
        try:
            return self._sites[(env, site_id)]
        except KeyError:
            raise KeyError(f"no site {site_id!r} in {env!r}; add it with add_site") from None


def _item_count(raw: bytes) -> int:
    if not raw:
        return 0
    try:
        payload = json.loads(raw)
    except ValueError:
        return 0
    return len(payload) if isinstance(payload, list) else 1
