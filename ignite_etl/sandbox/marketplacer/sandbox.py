"""`MarketplacerSandbox`: a simulated Marketplacer instance with a Python API for tests and the same
operations as JSON under `/_sandbox/`; GraphQL is served at `/graphql`."""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass

from graphql import graphql_sync
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ignite_etl.problem import problem
from ignite_etl.sandbox.controls import DeliveryLoop, json_operation
from ignite_etl.sandbox.marketplacer.catalogue import Catalogue, Change, GenerationReport
from ignite_etl.sandbox.marketplacer.graphql_api import SCHEMA, OperatorRoot
from ignite_etl.sandbox.marketplacer.webhooks import WebhookDispatcher

DEFAULT_API_KEY = "sandbox-marketplacer-key"


@dataclass
class RateLimits:
    """Marketplacer's published limits; each scope is a sliding window of `window_seconds`."""

    per_key: int = 750
    per_ip: int = 600
    per_operator: int = 1200
    window_seconds: float = 10.0
    status: int = 429
    send_retry_after: bool = True


class _Windows:
    def __init__(self) -> None:
        self._hits: dict[str, deque[float]] = {}

    def admit(self, scopes: dict[str, int], window: float) -> float | None:
        """Record a request in every scope, or return the seconds until the fullest scope frees up."""
        now = time.monotonic()
        waits = []
        for scope, limit in scopes.items():
            hits = self._hits.setdefault(scope, deque())
            while hits and hits[0] <= now - window:
                hits.popleft()
            if len(hits) >= limit:
                waits.append(hits[0] + window - now)
        if waits:
            return max(waits)
        for scope in scopes:
            self._hits[scope].append(now)
        return None


class MarketplacerSandbox:
    def __init__(
        self,
        *,
        api_keys: tuple[str, ...] = (DEFAULT_API_KEY,),
        vertical: str = "sandbox",
        time_scale: float = 1.0,
        auto_deliver: bool = True,
        seed: int = 0,
    ) -> None:
        self._lock = threading.RLock()
        self.catalogue = Catalogue()
        self.webhooks = WebhookDispatcher(vertical=vertical, time_scale=time_scale, seed=seed)
        self.rate_limits = RateLimits()
        self.graphql_requests = 0
        self.throttled_requests = 0
        self._api_keys = set(api_keys)
        self._windows = _Windows()
        self._failing: tuple[int, int, str | None] = (0, 503, None)  # (requests left, status, Retry-After)
        self.failed_requests = 0
        self._delivery = DeliveryLoop(self.webhooks.deliver_due, enabled=auto_deliver)
        self.app = self._build_app()

    # ---- configuration ----

    def set_api_keys(self, *keys: str) -> None:
        with self._lock:
            self._api_keys = set(keys)

    def set_rate_limit(self, **limits) -> RateLimits:
        """Change any of RateLimits' fields, e.g. `set_rate_limit(per_key=5, window_seconds=0.2)`."""
        with self._lock:
            for name, value in limits.items():
                if not hasattr(self.rate_limits, name):
                    raise ValueError(f"no rate limit setting {name!r}")
                setattr(self.rate_limits, name, value)
            self._windows = _Windows()
            return self.rate_limits

    def fail_next(self, count: int, status: int = 503, *, retry_after: str | None = None) -> None:
        """Answer the next `count` GraphQL requests with `status` (and `Retry-After: retry_after` when given),
        as a struggling instance or its load balancer would."""
        with self._lock:
            self._failing = (count, status, retry_after)

    def set_webhook_chaos(self, duplicate_rate: float = 0.0, out_of_order: bool = False) -> None:
        self.webhooks.configure_chaos(duplicate_rate, out_of_order)

    # ---- catalogue and orders ----

    def generate(self, size: int, seed: int = 1, broken_rate: float = 0.01, **odd_cases) -> GenerationReport:
        """A seeded catalogue; `odd_cases` are Catalogue.generate's b2b_rate and large_adverts."""
        with self._lock:
            return self.catalogue.generate(size, seed=seed, broken_rate=broken_rate, **odd_cases)

    def _apply(self, changes: list[Change]) -> None:
        self.webhooks.record(changes, self.execute)

    def set_price(self, variant_id: int, price: str) -> None:
        with self._lock:
            self._apply(self.catalogue.update_variant(variant_id, price=price))

    def set_stock(self, variant_id: int, count_on_hand: int) -> None:
        with self._lock:
            self._apply(self.catalogue.update_variant(variant_id, count_on_hand=count_on_hand))

    def update_variant(self, variant_id: int, **fields) -> None:
        with self._lock:
            self._apply(self.catalogue.update_variant(variant_id, **fields))

    def set_title(self, advert_id: int, title: str) -> None:
        with self._lock:
            self._apply(self.catalogue.update_advert(advert_id, title=title))

    def set_advert_state(self, advert_id: int, state: str) -> None:
        """`online`, `offline`, `unpublished` or `deleted`."""
        with self._lock:
            self._apply(self.catalogue.update_advert(advert_id, state=state))

    def delete_advert(self, advert_id: int) -> None:
        with self._lock:
            self._apply(self.catalogue.delete_advert(advert_id))

    def add_advert(self, title: str, variants: list[dict] | None = None, seller_id: int = 1) -> int:
        """A new advert; `variants` items take sku, price, count_on_hand, options, barcode, weight_kg."""
        with self._lock:
            advert, changes = self.catalogue.add_advert(title, variants or [], seller_id)
            self._apply(changes)
            return advert.legacy_id

    def add_variant(self, advert_id: int, **fields) -> int:
        with self._lock:
            variant, changes = self.catalogue.add_variant(advert_id, **fields)
            self._apply(changes)
            return variant.legacy_id

    def delete_variant(self, variant_id: int) -> None:
        with self._lock:
            self._apply(self.catalogue.delete_variant(variant_id))

    def place_order(self, lines: list[dict], buyer: dict, address: dict | None = None,
                    sparklayer_cart_id: str | None = None, billing_address: dict | None = None) -> dict:
        """Returns {"order_id", "invoice_ids", "line_item_ids"} (legacy ids)."""
        with self._lock:
            order, changes = self.catalogue.place_order(lines, buyer, address, sparklayer_cart_id, billing_address)
            self._apply(changes)
            return {"order_id": order.legacy_id, "invoice_ids": list(order.invoice_ids),
                    "line_item_ids": [i for inv in order.invoice_ids for i in self.catalogue.invoices[inv].line_item_ids]}

    def amend_order(self, order_id: int, *, quantities: dict[int, int] | None = None,
                    add: list[dict] | None = None) -> None:
        """Change line quantities (line item id -> quantity) and add lines [{variant_id, quantity}]."""
        with self._lock:
            self._apply(self.catalogue.amend(order_id, quantities=quantities, add=add))

    def ship(self, invoice_id: int, items: list[dict] | None = None, **details) -> int:
        with self._lock:
            shipment, changes = self.catalogue.ship(invoice_id, items, **details)
            self._apply(changes)
            return shipment.legacy_id

    def refund(self, invoice_id: int, items: list[dict] | None = None) -> int:
        with self._lock:
            refund, changes = self.catalogue.refund(invoice_id, items)
            self._apply(changes)
            return refund.legacy_id

    def cancel(self, invoice_id: int, items: list[dict] | None = None) -> None:
        with self._lock:
            self._apply(self.catalogue.cancel(invoice_id, items))

    # ---- GraphQL and webhooks ----

    def execute(self, query: str, variables: dict | None = None, operation_name: str | None = None) -> dict:
        """Run a GraphQL document against the current state, as an authorised request would."""
        with self._lock:
            result = graphql_sync(
                SCHEMA, query, root_value=OperatorRoot(self.catalogue, self.webhooks),
                variable_values=variables, operation_name=operation_name,
            )
        body: dict = {"data": result.data}
        if result.errors:
            body["errors"] = [error.formatted for error in result.errors]
        return body

    def deliver_webhooks(self, settle: bool = True, timeout: float = 30.0) -> int:
        """Deliver pending webhook events now; with `settle`, wait out (time-scaled) retries too."""
        return self.webhooks.deliver(settle=settle, timeout=timeout)

    # ---- HTTP ----

    def _build_app(self) -> Starlette:
        routes = [
            Route("/graphql", self._graphql, methods=["POST"]),
            Route("/_sandbox/catalogue", self._catalogue, methods=["GET", "POST"]),
            Route("/_sandbox/adverts", self._add_advert, methods=["POST"]),
            Route("/_sandbox/adverts/{advert_id:int}", self._change_advert, methods=["PATCH", "DELETE"]),
            Route("/_sandbox/adverts/{advert_id:int}/variants", self._add_variant, methods=["POST"]),
            Route("/_sandbox/variants/{variant_id:int}", self._change_variant, methods=["PATCH", "DELETE"]),
            Route("/_sandbox/orders", self._place_order, methods=["POST"]),
            Route("/_sandbox/orders/{order_id:int}", self._amend_order, methods=["PATCH"]),
            Route("/_sandbox/invoices/{invoice_id:int}/{package}", self._invoice_package, methods=["POST"]),
            Route("/_sandbox/api-keys", self._api_keys_endpoint, methods=["PUT"]),
            Route("/_sandbox/rate-limits", self._rate_limits_endpoint, methods=["PUT"]),
            Route("/_sandbox/webhooks", self._webhooks_endpoint, methods=["GET"]),
            Route("/_sandbox/webhooks/deliver", self._deliver_endpoint, methods=["POST"]),
            Route("/_sandbox/webhooks/chaos", self._chaos_endpoint, methods=["PUT"]),
        ]
        return Starlette(routes=routes, lifespan=self._delivery.lifespan)

    def _api_key(self, request: Request) -> str | None:
        key = request.headers.get("marketplacer-api-key")
        if key:
            return key
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        return token if scheme.lower() == "bearer" and token else None

    def _throttle(self, key: str, ip: str) -> JSONResponse | None:
        limits = self.rate_limits
        with self._lock:
            wait = self._windows.admit(
                {f"key:{key}": limits.per_key, f"ip:{ip}": limits.per_ip, "operator": limits.per_operator},
                limits.window_seconds,
            )
            if wait is None:
                return None
            self.throttled_requests += 1
        headers = {"Retry-After": str(max(1, math.ceil(wait)))} if limits.send_retry_after else {}
        return JSONResponse({"errors": [{"message": "Rate limit exceeded"}]}, status_code=limits.status,
                            headers=headers)

    async def _graphql(self, request: Request):
        key = self._api_key(request)
        if key is None or key not in self._api_keys:
            return JSONResponse({"errors": [{"message": "Invalid or missing API key"}]}, status_code=401)
        throttled = self._throttle(key, request.client.host if request.client else "unknown")
        if throttled is not None:
            return throttled
        with self._lock:
            left, status, retry_after = self._failing
            if left > 0:
                self._failing = (left - 1, status, retry_after)
                self.failed_requests += 1
                return JSONResponse({"errors": [{"message": "Service unavailable"}]}, status_code=status,
                                    headers={"Retry-After": retry_after} if retry_after is not None else {})
        self.graphql_requests += 1
        try:
            body = await request.json()
            query = body["query"]
        except (ValueError, KeyError, TypeError):
            return JSONResponse({"errors": [{"message": "Body must be JSON with a query"}]}, status_code=400)
        result = await run_in_threadpool(self.execute, query, body.get("variables"), body.get("operationName"))
        return JSONResponse(result)

    async def _catalogue(self, request: Request):
        if request.method == "GET":
            catalogue = self.catalogue
            return JSONResponse({"adverts": len(catalogue.adverts), "variants": len(catalogue.variants),
                                 "orders": len(catalogue.orders), "invoices": len(catalogue.invoices)})
        return await json_operation(request, lambda d: self.generate(
            int(d["adverts"]), seed=int(d.get("seed", 1)), broken_rate=float(d.get("broken_rate", 0.01)),
            b2b_rate=float(d.get("b2b_rate", 0.1)), large_adverts=int(d.get("large_adverts", 0)),
        ).as_dict(), 201)

    async def _add_advert(self, request: Request):
        return await json_operation(request, lambda d: {"advert_id": self.add_advert(
            d["title"], d.get("variants"), int(d.get("seller_id", 1)))}, 201)

    async def _change_advert(self, request: Request):
        advert_id = request.path_params["advert_id"]
        if request.method == "DELETE":
            return await json_operation(request, lambda d: _done(self.delete_advert, advert_id))

        def change(d):
            with self._lock:
                self._apply(self.catalogue.update_advert(advert_id, title=d.get("title"), state=d.get("state"),
                                                         rrp=d.get("rrp")))
            return {}

        return await json_operation(request, change)

    async def _add_variant(self, request: Request):
        advert_id = request.path_params["advert_id"]
        return await json_operation(request, lambda d: {"variant_id": self.add_variant(advert_id, **d)}, 201)

    async def _change_variant(self, request: Request):
        variant_id = request.path_params["variant_id"]
        if request.method == "DELETE":
            return await json_operation(request, lambda d: _done(self.delete_variant, variant_id))
        return await json_operation(request, lambda d: _done(self.update_variant, variant_id, **d))

    async def _place_order(self, request: Request):
        return await json_operation(request, lambda d: self.place_order(
            d["lines"], d["buyer"], d.get("address"), d.get("sparklayer_cart_id"), d.get("billing_address")), 201)

    async def _amend_order(self, request: Request):
        order_id = request.path_params["order_id"]
        return await json_operation(request, lambda d: _done(
            self.amend_order, order_id, quantities={int(k): int(v) for k, v in (d.get("quantities") or {}).items()},
            add=d.get("add")))

    async def _invoice_package(self, request: Request):
        invoice_id, package = request.path_params["invoice_id"], request.path_params["package"]
        operations = {
            "shipments": lambda d: {"shipment_id": self.ship(invoice_id, d.get("items"), **{
                k: d[k] for k in ("carrier", "tracking_number") if k in d})},
            "refunds": lambda d: {"refund_id": self.refund(invoice_id, d.get("items"))},
            "cancellations": lambda d: _done(self.cancel, invoice_id, d.get("items")),
        }
        if package not in operations:
            return problem(404, f"no invoice operation {package!r}: use shipments, refunds or cancellations")
        return await json_operation(request, operations[package], 201)

    async def _api_keys_endpoint(self, request: Request):
        return await json_operation(request, lambda d: _done(self.set_api_keys, *d["keys"]))

    async def _rate_limits_endpoint(self, request: Request):
        return await json_operation(request, lambda d: asdict(self.set_rate_limit(**d)))

    async def _webhooks_endpoint(self, request: Request):
        dispatcher = self.webhooks
        return JSONResponse({
            "webhooks": [w.view() for w in dispatcher.webhooks.values()],
            "pending": len(dispatcher.pending()),
            "deliveries": [asdict(d) for d in dispatcher.deliveries],
        })

    async def _deliver_endpoint(self, request: Request):
        return await json_operation(request, lambda d: {"attempts": self.deliver_webhooks(
            settle=bool(d.get("settle", True)), timeout=float(d.get("timeout", 30)))})

    async def _chaos_endpoint(self, request: Request):
        return await json_operation(request, lambda d: _done(
            self.set_webhook_chaos, float(d.get("duplicate_rate", 0)), bool(d.get("out_of_order", False))))

    def close(self) -> None:
        self._delivery.stop()
        self.webhooks.close()


def _done(action, *args, **kwargs) -> dict:
    """Run a sandbox change that answers nothing; its HTTP answer is an empty object."""
    action(*args, **kwargs)
    return {}
