"""`ShopifySandbox`: one simulated Shopify shop with the SparkLayer app, a Python API for tests and the same
operations as JSON under `/_sandbox/`.

    POST /admin/api/2025-01/graphql.json     the Admin API (X-Shopify-Access-Token), cost-throttled
    GET  /admin/oauth/authorize              the merchant approves the app -> redirect_uri?code&hmac&shop&state…
    POST /admin/oauth/access_token           code, refresh-token or session-token exchange (expiring offline tokens)
    GET  /_sandbox/install                   the app listing's Install button: opens the app URL, signed
                                             (`?managed=1`: installed by Shopify, embedded, with a session token)
    GET  /_sandbox/bulk/{id}.jsonl           a finished bulk operation's result file
    GET  /_sandbox/app-proxy?customer_id=N   the signed query an app proxy request carries for a signed-in customer

The app (client id and secret, app URL, allowed redirect URLs, compliance address) is configured with
`configure_app`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import html
import json
import secrets
import tempfile
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

from graphql import FieldNode, GraphQLError, OperationDefinitionNode, execute_sync, parse, validate
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from ignite_etl.problem import problem
from ignite_etl.sandbox.controls import DeliveryLoop, json_operation
from ignite_etl.sandbox.shopify import graphql_api
from ignite_etl.sandbox.shopify.graphql_api import SCHEMA, Api, gid, parse_gid, requested_cost, type_resolver
from ignite_etl.sandbox.shopify.shop import Event, Shop, iso
from ignite_etl.sandbox.shopify.webhooks import API_VERSION, Subscription, WebhookDispatcher

GRAPHQL_PATH = f"/admin/api/{API_VERSION}/graphql.json"
DEFAULT_SCOPES = "read_products,read_inventory,write_customers,read_orders"
MAX_QUERY_COST = 1000
SESSION_TOKEN_SECONDS = 60
TOKEN_EXCHANGE_GRANT = "urn:ietf:params:oauth:grant-type:token-exchange"
OFFLINE_TOKEN_TYPE = "urn:shopify:params:oauth:token-type:offline-access-token"
BULK_CONNECTIONS = 5
BULK_DEPTH = 2
BULK_WINDOW = 250


@dataclass
class ThrottleSettings:
    """The cost bucket per app and shop: its size (1,000 points [S]) and Standard's restore rate (100/s [C])."""

    maximum_available: float = 1000.0
    restore_rate: float = 100.0


@dataclass
class App:
    client_id: str = "sandbox-shopify-client-id"
    client_secret: str = field(default="sandbox-shopify-client-secret", repr=False)
    app_url: str = ""
    redirect_urls: tuple[str, ...] = ()
    compliance_url: str | None = None
    scopes: str = DEFAULT_SCOPES


@dataclass
class Token:
    value: str = field(repr=False)
    expires_at: float | None  # monotonic; None never expires


@dataclass
class BulkOperation:
    number: int
    query: str
    status: str = "CREATED"
    createdAt: str = field(default_factory=lambda: iso(datetime.now(UTC)))  # noqa: N815 - GraphQL field names
    completedAt: str | None = None  # noqa: N815
    errorCode: str | None = None  # noqa: N815
    fileSize: str | None = None  # noqa: N815
    objectCount: str = "0"  # noqa: N815
    rootObjectCount: str = "0"  # noqa: N815
    url: str | None = None
    partialDataUrl: str | None = None  # noqa: N815
    type: str = "QUERY"
    typename = "BulkOperation"
    path: Path | None = None
    cancel: threading.Event = field(default_factory=threading.Event)

    @property
    def id(self) -> str:
        return gid("BulkOperation", self.number)


class ShopifySandbox:
    def __init__(self, *, domain: str = "sandbox.myshopify.com", currency: str = "AUD", time_scale: float = 1.0,
                 auto_deliver: bool = True, token_ttl_seconds: float = 3600.0):
        self._lock = threading.RLock()
        self.shop = Shop(domain=domain, currency=currency)
        self.app = App()
        self.time_scale = time_scale
        self.token_ttl_seconds = token_ttl_seconds
        self.throttle = ThrottleSettings()
        self._available = self.throttle.maximum_available
        self._restored_at = time.monotonic()
        self.webhooks = WebhookDispatcher(domain, time_scale=time_scale)
        self.webhooks.client_secret = self.app.client_secret
        self.subscriptions = self.webhooks.subscriptions
        self.bulk_operations: dict[int, BulkOperation] = {}
        self._codes: dict[str, str] = {}  # code -> scope
        self._access: dict[str, Token] = {}
        self._refresh: dict[str, Token] = {}
        self._previous_refresh: dict[str, str] = {}  # new refresh token -> the one it replaced (valid until used)
        self.installed = False
        self.graphql_requests = 0
        self.throttled_requests = 0
        self.max_cost_seen = 0
        self.bulk_window_seconds = 0.0
        """How long each window of 250 top-level objects of a bulk operation takes (real seconds)."""
        self._failing: tuple[int, int] = (0, 503)
        self._bulk_dir = tempfile.TemporaryDirectory(prefix="shopify-bulk-")
        self.base_url = ""
        self._delivery = DeliveryLoop(self.webhooks.deliver_due, enabled=auto_deliver)
        self.asgi = self._build_app()

    # ---- the app and its credentials ----

    def configure_app(self, **fields) -> App:
        with self._lock:
            for name, value in fields.items():
                if not hasattr(self.app, name):
                    raise ValueError(f"no app setting {name!r}")
                setattr(self.app, name, tuple(value) if name == "redirect_urls" else value)
            self.webhooks.client_secret = self.app.client_secret
            return self.app

    def issue_token(self, *, expiring: bool = True) -> dict:
        """An offline token as the code exchange grants it (for tests that skip the install)."""
        with self._lock:
            self.installed = True
            return self._grant(self.app.scopes, expiring)

    def _grant(self, scope: str, expiring: bool) -> dict:
        now = time.monotonic()
        access = "shpat_" + secrets.token_hex(16)
        if not expiring:
            self._access[access] = Token(access, None)
            return {"access_token": access, "scope": scope}
        refresh = "shprt_" + secrets.token_hex(16)
        self._access[access] = Token(access, now + self.token_ttl_seconds)  # real seconds, as it reports them
        self._refresh[refresh] = Token(refresh, now + 90 * 24 * 3600)
        return {"access_token": access, "scope": scope, "expires_in": int(self.token_ttl_seconds),
                "refresh_token": refresh, "refresh_token_expires_in": 90 * 24 * 3600}

    def expire_tokens(self) -> None:
        """Every access token expires now (refresh tokens still work)."""
        with self._lock:
            for token in self._access.values():
                token.expires_at = time.monotonic() - 1

    def _valid_access(self, value: str | None) -> bool:
        token = self._access.get(value or "")
        return token is not None and (token.expires_at is None or token.expires_at > time.monotonic())

    def signed_query(self, params: dict[str, str]) -> dict[str, str]:
        """`params` with Shopify's `hmac`: hex HMAC-SHA256 of the sorted `k=v&…` with the client secret."""
        message = "&".join(f"{k}={quote(str(v), safe='')}" for k, v in sorted(params.items()) if k not in ("hmac", "signature"))
        return {**params, "hmac": hmac.new(self.app.client_secret.encode(), message.encode(), hashlib.sha256).hexdigest()}

    def install_link(self) -> str:
        """The app URL as the app listing's Install button opens it."""
        params = self.signed_query({"shop": self.shop.domain, "timestamp": str(int(time.time())),
                                    "host": _host(self.shop.domain)})
        return f"{self.app.app_url}?{urlencode(params)}"

    def session_token(self, *, lifetime: float = SESSION_TOKEN_SECONDS, secret: str | None = None) -> str:
        """What App Bridge hands the embedded app: an HS256 JWT signed with the client secret (or `secret`),
        for this app and shop, valid for a minute."""
        now = int(time.time())
        claims = {"iss": f"https://{self.shop.domain}/admin", "dest": f"https://{self.shop.domain}",
                  "aud": self.app.client_id, "sub": "1", "exp": now + int(lifetime), "nbf": now, "iat": now,
                  "jti": str(uuid.uuid4()), "sid": secrets.token_hex(16)}
        header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        body = _b64url(json.dumps(claims).encode())
        key = (secret or self.app.client_secret).encode()
        return f"{header}.{body}.{_b64url(hmac.new(key, f'{header}.{body}'.encode(), hashlib.sha256).digest())}"

    def managed_install_link(self, *, session_token: str | None = None) -> str:
        """Managed install: Shopify installs the app with its configured scopes and opens the app URL in the
        admin, embedded, with a session token (`id_token`) to exchange."""
        with self._lock:
            self.installed = True
        params = self.signed_query({"embedded": "1", "host": _host(self.shop.domain),
                                    "id_token": session_token or self.session_token(), "shop": self.shop.domain,
                                    "timestamp": str(int(time.time()))})
        return f"{self.app.app_url}?{urlencode(params)}"

    def app_proxy_query(self, customer_id: int | None, *, path_prefix: str = "/apps/sparklayer",
                        at: float | None = None, secret: str | None = None) -> str:
        """The query string Shopify adds when it forwards a storefront request through the app's proxy: the shop,
        the signed-in customer's id (blank when none is), the proxy's path prefix and the time, signed with
        the client secret (`signature`: hex HMAC-SHA256 of the sorted `key=value` pairs, joined with nothing)."""
        params = {"shop": self.shop.domain, "logged_in_customer_id": "" if customer_id is None else str(customer_id),
                  "path_prefix": path_prefix, "timestamp": str(int(time.time() if at is None else at))}
        message = "".join(f"{k}={v}" for k, v in sorted(params.items()))
        key = (secret or self.app.client_secret).encode()
        return urlencode({**params, "signature": hmac.new(key, message.encode(), hashlib.sha256).hexdigest()})

    def _valid_session_token(self, token: str) -> bool:
        try:
            header, body, signature = token.split(".")
            claims = json.loads(_unb64url(body))
            given = _unb64url(signature)
        except (ValueError, binascii.Error):
            return False
        expected = hmac.new(self.app.client_secret.encode(), f"{header}.{body}".encode(), hashlib.sha256).digest()
        return (hmac.compare_digest(expected, given) and claims.get("aud") == self.app.client_id
                and claims.get("dest") == f"https://{self.shop.domain}"
                and claims.get("nbf", 0) <= time.time() < claims.get("exp", 0))

    def uninstall(self) -> None:
        """The merchant removes the app: tokens revoked, `app/uninstalled` sent; `shop/redact` is sent by
        `send_privacy_webhook` (Shopify sends it 48 hours later)."""
        with self._lock:
            self.installed = False
            self._access.clear()
            self._refresh.clear()
            self._emit([Event("app/uninstalled", self.shop.shop_payload())])

    def send_privacy_webhook(self, topic: str, payload: dict | None = None) -> int:
        if topic not in ("customers/data_request", "customers/redact", "shop/redact"):
            raise ValueError("topic must be customers/data_request, customers/redact or shop/redact")
        if not self.app.compliance_url:
            raise ValueError("the app has no compliance webhook address: configure_app(compliance_url=…)")
        body = {"shop_id": 1, "shop_domain": self.shop.domain, **(payload or {})}
        return self.webhooks.emit(topic, body, compliance_url=self.app.compliance_url)

    # ---- merchant edits ----

    def _emit(self, events: list[Event]) -> None:
        for event in events:
            self.webhooks.emit(event.topic, event.payload)

    def generate(self, size: int, **options) -> dict:
        with self._lock:
            return self.shop.generate(size, **options)

    def add_product(self, title: str, variants: list[dict] | None = None, **options) -> int:
        with self._lock:
            product, events = self.shop.add_product(title, variants or [], **options)
            self._emit(events)
            return product.id

    def add_variant(self, product_id: int, **fields) -> int:
        with self._lock:
            variant, events = self.shop.add_variant(product_id, **fields)
            self._emit(events)
            return variant.id

    def update_product(self, product_id: int, **fields) -> None:
        with self._lock:
            self._emit(self.shop.update_product(product_id, **fields))

    def update_variant(self, variant_id: int, **fields) -> None:
        with self._lock:
            self._emit(self.shop.update_variant(variant_id, **fields))

    def set_stock(self, variant_id: int, available: int, location_id: int | None = None) -> None:
        with self._lock:
            self._emit(self.shop.set_stock(variant_id, available, location_id))

    def delete_product(self, product_id: int) -> None:
        with self._lock:
            self._emit(self.shop.delete_product(product_id))

    def delete_variant(self, variant_id: int) -> None:
        with self._lock:
            self._emit(self.shop.delete_variant(variant_id))

    def set_currency(self, currency: str) -> None:
        with self._lock:
            self._emit(self.shop.set_currency(currency))

    def add_location(self, name: str) -> int:
        with self._lock:
            return self.shop.add_location(name)

    def add_customer(self, email: str | None, **fields) -> int:
        with self._lock:
            customer, events = self.shop.add_customer(email, **fields)
            self._emit(events)
            return customer.id

    def update_customer(self, customer_id: int, **fields) -> None:
        with self._lock:
            self._emit(self.shop.update_customer(customer_id, **fields))

    def delete_customer(self, customer_id: int) -> None:
        with self._lock:
            self._emit(self.shop.delete_customer(customer_id))

    def add_order(self, customer_id: int | None, lines: list[dict], **options) -> tuple[int, list[int]]:
        """A buyer's order (`Shop.add_order`); its id and its line items' ids."""
        with self._lock:
            order, events = self.shop.add_order(customer_id, lines, **options)
            self._emit(events)
            return order.id, [line.id for line in order.lines]

    def fulfill(self, order_id: int, items: dict[int, int], **tracking) -> int:
        with self._lock:
            fulfillment, events = self.shop.fulfill(order_id, items, **tracking)
            self._emit(events)
            return fulfillment.id

    def refund(self, order_id: int, items: dict[int, tuple[int, str]], **options) -> int:
        with self._lock:
            refund, events = self.shop.refund(order_id, items, **options)
            self._emit(events)
            return refund.id

    def amend_order(self, order_id: int, **changes) -> None:
        with self._lock:
            self._emit(self.shop.amend_order(order_id, **changes))

    def cancel_order(self, order_id: int) -> None:
        with self._lock:
            self._emit(self.shop.cancel_order(order_id))

    def add_company(self, name: str, **options) -> int:
        """A B2B company with locations and contacts (`Shop.add_company`); its id."""
        with self._lock:
            company, events = self.shop.add_company(name, **options)
            self._emit(events)
            return company.id

    def update_company(self, company_id: int, **fields) -> None:
        with self._lock:
            self._emit(self.shop.update_company(company_id, **fields))

    def update_company_location(self, location_id: int, **fields) -> None:
        with self._lock:
            self._emit(self.shop.update_company_location(location_id, **fields))

    def add_catalog(self, title: str, **options) -> int:
        """A B2B catalog with its price list (`Shop.add_catalog`); its price list's id (`catalog_of` gives the
        catalog's)."""
        with self._lock:
            price_list_id = self.shop.add_catalog(title, **options).price_list_id
            assert price_list_id is not None
            return price_list_id

    def catalog_of(self, price_list_id: int) -> int:
        with self._lock:
            return next(c.id for c in self.shop.catalogs.values() if c.price_list_id == price_list_id)

    def set_list_price(self, price_list_id: int, variant_id: int, price: str | None) -> None:
        """Fix a variant's price on a catalog's price list (None: relative to its own price again). Shopify
        sends no webhook for it (2025-01 has no catalog topics)."""
        with self._lock:
            fixed = self.shop.price_lists[price_list_id].fixed
            if price is None:
                fixed.pop(variant_id, None)
            else:
                fixed[variant_id] = f"{float(price):.2f}"

    # ---- throttling and faults ----

    def set_throttle(self, **settings) -> ThrottleSettings:
        with self._lock:
            for name, value in settings.items():
                if not hasattr(self.throttle, name):
                    raise ValueError(f"no throttle setting {name!r}")
                setattr(self.throttle, name, float(value))
            self._available = self.throttle.maximum_available
            return self.throttle

    def drain_bucket(self) -> None:
        """Empty the cost bucket, as another client of the same app and shop would."""
        with self._lock:
            self._available = 0.0
            self._restored_at = time.monotonic()

    def fail_next(self, count: int, status: int = 503) -> None:
        with self._lock:
            self._failing = (count, status)

    def _throttle_status(self) -> dict:
        return {"maximumAvailable": self.throttle.maximum_available,
                "currentlyAvailable": int(self._available), "restoreRate": self.throttle.restore_rate}

    def _restore(self) -> None:
        now = time.monotonic()
        rate = self.throttle.restore_rate / max(self.time_scale, 1e-9)
        self._available = min(self.throttle.maximum_available, self._available + (now - self._restored_at) * rate)
        self._restored_at = now

    # ---- GraphQL ----

    def execute(self, query: str, variables: dict | None = None, operation_name: str | None = None) -> dict:
        """One Admin API request as an authorised caller would send it, with its cost and throttling."""
        try:
            document = parse(query)
        except GraphQLError as exc:
            return {"errors": [exc.formatted]}
        errors = validate(SCHEMA, document)
        if errors:
            return {"errors": [e.formatted for e in errors]}
        cost = requested_cost(SCHEMA, document, variables, operation_name)
        with self._lock:
            self.max_cost_seen = max(self.max_cost_seen, cost)
            if cost > MAX_QUERY_COST:
                message = f"Query cost is {cost}, which exceeds the single query max cost limit ({MAX_QUERY_COST})."
                extensions = {"code": "MAX_COST_EXCEEDED", "cost": cost, "maxCost": MAX_QUERY_COST}
                return {"errors": [{"message": message, "extensions": extensions}]}
            self._restore()
            if cost > self._available:
                self.throttled_requests += 1
                return {"errors": [{"message": "Throttled", "extensions": {
                    "code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits"}}],
                    "extensions": {"cost": {"requestedQueryCost": cost, "actualQueryCost": None,
                                            "throttleStatus": self._throttle_status()}}}
            self._available -= cost
            result = execute_sync(SCHEMA, document, root_value=Api(self), variable_values=variables,
                                  operation_name=operation_name, type_resolver=type_resolver)
            actual = min(cost, _objects(result.data))
            self._available = min(self.throttle.maximum_available, self._available + cost - actual)  # the refund
            body: dict[str, Any] = {"data": result.data}
            if result.errors:
                body["errors"] = [e.formatted for e in result.errors]
            body["extensions"] = {"cost": {"requestedQueryCost": cost, "actualQueryCost": actual,
                                           "throttleStatus": self._throttle_status()}}
            return body

    # ---- bulk operations ----

    def current_bulk_operation(self, kind: str = "QUERY") -> BulkOperation | None:
        found = [op for op in self.bulk_operations.values() if op.type == kind]
        return found[-1] if found else None

    def run_bulk_query(self, query: str) -> dict:
        running = [op for op in self.bulk_operations.values() if op.status in ("CREATED", "RUNNING", "CANCELING")]
        if running:
            return {"bulkOperation": None, "userErrors": [{
                "code": "OPERATION_IN_PROGRESS", "field": ["query"],
                "message": f"A bulk query operation for this app and shop is already in progress: {running[0].id}."}]}
        problem_text = _bulk_problem(query)
        if problem_text:
            return {"bulkOperation": None, "userErrors": [{"code": "INVALID", "field": ["query"], "message": problem_text}]}
        operation = BulkOperation(number=self.shop.next_id(), query=query)
        self.bulk_operations[operation.number] = operation
        threading.Thread(target=self._run_bulk, args=(operation,), daemon=True).start()
        return {"bulkOperation": operation, "userErrors": []}

    def cancel_bulk_operation(self, operation_id: str) -> dict:
        kind, number = parse_gid(operation_id)
        operation = self.bulk_operations.get(number) if kind == "BulkOperation" else None
        if operation is None:
            return {"bulkOperation": None, "userErrors": [{"field": ["id"], "message": "Bulk operation does not exist"}]}
        if operation.status not in ("CREATED", "RUNNING"):
            return {"bulkOperation": operation, "userErrors": [{"field": ["id"], "message":
                    f"A bulk operation cannot be canceled when it is {operation.status.lower()}"}]}
        operation.status = "CANCELING"
        operation.cancel.set()
        return {"bulkOperation": operation, "userErrors": []}

    def _run_bulk(self, operation: BulkOperation) -> None:
        """Write the JSONL result a window of top-level objects at a time: each object on its line, then the
        window's nested objects, each with `__parentId` (so a child follows its parent, not always at once)."""
        operation.status = "RUNNING"
        path = Path(self._bulk_dir.name) / f"{operation.number}.jsonl"
        document = parse(operation.query)
        objects = roots = 0
        start = 0
        with path.open("w", encoding="utf-8") as out:
            while not operation.cancel.is_set():
                with self._lock:
                    root = Api(self, bulk=True, window=slice(start, start + BULK_WINDOW))
                    result = execute_sync(SCHEMA, document, root_value=root, type_resolver=type_resolver)
                if result.errors:
                    operation.status, operation.errorCode = "FAILED", "INTERNAL_SERVER_ERROR"
                    break
                [connection] = (result.data or {}).values()
                nodes = _connection_nodes(connection)
                if not nodes:
                    break
                children: list[dict] = []
                for node in nodes:
                    out.write(json.dumps(_flatten(node, children)) + "\n")
                for child in children:
                    out.write(json.dumps(child) + "\n")
                roots += len(nodes)
                objects += len(nodes) + len(children)
                start += BULK_WINDOW
                operation.cancel.wait(self.bulk_window_seconds)
        with self._lock:
            if operation.cancel.is_set():
                operation.status = "CANCELED"
            elif operation.status == "RUNNING":
                operation.status = "COMPLETED"
                operation.path = path
                operation.url = f"{self.base_url}/_sandbox/bulk/{operation.number}.jsonl"
                operation.fileSize = str(path.stat().st_size)
            operation.objectCount, operation.rootObjectCount = str(objects), str(roots)
            operation.completedAt = iso(datetime.now(UTC))
            self.webhooks.emit("bulk_operations/finish", {
                "admin_graphql_api_id": operation.id, "completed_at": operation.completedAt,
                "created_at": operation.createdAt, "error_code": operation.errorCode and operation.errorCode.lower(),
                "status": operation.status.lower(), "type": "query"})

    def wait_for_bulk(self, timeout: float = 60.0) -> BulkOperation | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            operation = self.current_bulk_operation()
            if operation is None or operation.status not in ("CREATED", "RUNNING", "CANCELING"):
                return operation
            time.sleep(0.01)
        raise TimeoutError("the bulk operation did not finish")

    # ---- subscriptions ----

    def subscribe(self, topic: str, url: str) -> tuple[Subscription | None, str | None]:
        if not url.startswith(("https://", "http://127.0.0.1", "http://localhost")):
            return None, "Address protocol http:// is not supported"
        with self._lock:
            if any(s.topic == topic and s.callback_url == url for s in self.subscriptions.values()):
                return None, "Address for this topic has already been taken"
            subscription = Subscription(self.shop.next_id(), topic, url)
            self.subscriptions[subscription.id] = subscription
            return subscription, None

    def deliver_webhooks(self, settle: bool = True, timeout: float = 30.0) -> int:
        return self.webhooks.deliver(settle=settle, timeout=timeout)

    # ---- HTTP ----

    def _build_app(self) -> Starlette:
        return Starlette(routes=[
            Route(GRAPHQL_PATH, self._graphql, methods=["POST"]),
            Route("/admin/oauth/authorize", self._authorize, methods=["GET", "POST"]),
            Route("/admin/oauth/access_token", self._access_token, methods=["POST"]),
            Route("/_sandbox/install", self._install_button, methods=["GET"]),
            Route("/_sandbox/bulk/{operation_id:int}.jsonl", self._bulk_file, methods=["GET"]),
            Route("/_sandbox/shop", self._shop_endpoint, methods=["GET", "POST"]),
            Route("/_sandbox/products", self._products_endpoint, methods=["POST"]),
            Route("/_sandbox/products/{product_id:int}", self._product_endpoint, methods=["PATCH", "DELETE"]),
            Route("/_sandbox/variants/{variant_id:int}", self._variant_endpoint, methods=["PATCH", "DELETE"]),
            Route("/_sandbox/variants/{variant_id:int}/stock", self._stock_endpoint, methods=["PUT"]),
            Route("/_sandbox/customers", self._customers_endpoint, methods=["POST"]),
            Route("/_sandbox/customers/{customer_id:int}", self._customer_endpoint, methods=["PATCH", "DELETE"]),
            Route("/_sandbox/orders", self._orders_endpoint, methods=["POST"]),
            Route("/_sandbox/orders/{order_id:int}/{operation:str}", self._order_operation_endpoint, methods=["POST"]),
            Route("/_sandbox/catalogs", self._catalogs_endpoint, methods=["POST"]),
            Route("/_sandbox/price-lists/{price_list_id:int}/prices/{variant_id:int}", self._list_price_endpoint,
                  methods=["PUT"]),
            Route("/_sandbox/app", self._app_endpoint, methods=["GET", "PUT"]),
            Route("/_sandbox/app-proxy", self._app_proxy_endpoint, methods=["GET"]),
            Route("/_sandbox/uninstall", self._uninstall_endpoint, methods=["POST"]),
            Route("/_sandbox/privacy/{topic:path}", self._privacy_endpoint, methods=["POST"]),
            Route("/_sandbox/throttle", self._throttle_endpoint, methods=["PUT"]),
            Route("/_sandbox/webhooks", self._webhooks_endpoint, methods=["GET"]),
            Route("/_sandbox/webhooks/deliver", self._deliver_endpoint, methods=["POST"]),
        ], lifespan=self._delivery.lifespan)

    def _remember_base(self, request: Request) -> None:
        if not self.base_url:
            self.base_url = str(request.base_url).rstrip("/")

    async def _graphql(self, request: Request) -> Response:
        self._remember_base(request)
        if not self._valid_access(request.headers.get("x-shopify-access-token")):
            return JSONResponse({"errors": "[API] Invalid API key or access token (unrecognized login or wrong "
                                           "password)"}, status_code=401)
        with self._lock:
            left, status = self._failing
            if left > 0:
                self._failing = (left - 1, status)
                return JSONResponse({"errors": "Service unavailable"}, status_code=status)
            self.graphql_requests += 1
        try:
            body = await request.json()
            query = body["query"]
            if not isinstance(query, str):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            return JSONResponse({"errors": "Bad Request"}, status_code=400)
        result = await run_in_threadpool(self.execute, query, body.get("variables"), body.get("operationName"))
        return JSONResponse(result)

    async def _authorize(self, request: Request) -> Response:
        """GET shows the merchant the app's request; POST (the merchant's Install) redirects with the code."""
        params = dict(request.query_params) if request.method == "GET" else await _form(request)
        if params.get("client_id") != self.app.client_id:
            return HTMLResponse("<h1>Oauth error invalid_request: The client_id is invalid</h1>", status_code=400)
        redirect_uri = params.get("redirect_uri", "")
        if redirect_uri not in self.app.redirect_urls:
            return HTMLResponse("<h1>Oauth error invalid_request: The redirect_uri is not whitelisted</h1>",
                                status_code=400)
        if request.method == "GET":
            hidden = "".join(f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
                             for k, v in params.items())
            return HTMLResponse(f"<!doctype html><title>Install app</title><h1>Install SparkLayer on "
                                f"{html.escape(self.shop.domain)}?</h1><p>It asks to {html.escape(params.get('scope', ''))}."
                                f'<form method="post">{hidden}<button type="submit">Install app</button></form>')
        code = secrets.token_hex(16)
        with self._lock:
            self._codes[code] = params.get("scope") or self.app.scopes
        query = self.signed_query({"code": code, "host": _host(self.shop.domain), "shop": self.shop.domain,
                                   "state": params.get("state", ""), "timestamp": str(int(time.time()))})
        return RedirectResponse(f"{redirect_uri}?{urlencode(query)}", status_code=302)

    async def _access_token(self, request: Request) -> Response:
        try:
            data = (await request.json() if request.headers.get("content-type", "").startswith("application/json")
                    else await _form(request))
        except ValueError:
            return JSONResponse({"error": "invalid_request"}, status_code=400)
        if data.get("client_id") != self.app.client_id or data.get("client_secret") != self.app.client_secret:
            return JSONResponse({"error": "invalid_client", "error_description": "Client credentials are invalid"},
                                status_code=401)
        with self._lock:
            if data.get("grant_type") == "refresh_token":
                token = str(data.get("refresh_token") or "")
                known = self._refresh.get(token)
                if known is None or (known.expires_at or 0) < time.monotonic():
                    return JSONResponse({"error": "invalid_grant", "error_description": "refresh token is invalid"},
                                        status_code=400)
                replaced = self._previous_refresh.pop(token, None)
                if replaced:
                    self._refresh.pop(replaced, None)  # the one it replaced is spent once this one is used
                grant = self._grant(self.app.scopes, True)
                self._previous_refresh[grant["refresh_token"]] = token
                return JSONResponse(grant)
            if data.get("grant_type") == TOKEN_EXCHANGE_GRANT:
                if not self.installed or not self._valid_session_token(str(data.get("subject_token") or "")):
                    return JSONResponse({"error": "invalid_subject_token", "error_description": "The session token "
                                         "is invalid or has expired"}, status_code=400)
                if data.get("requested_token_type") != OFFLINE_TOKEN_TYPE:
                    return JSONResponse({"error": "invalid_request", "error_description": "This sandbox grants "
                                         "offline access tokens only"}, status_code=400)
                return JSONResponse(self._grant(self.app.scopes, str(data.get("expiring", "0")) == "1"))
            scope = self._codes.pop(str(data.get("code") or ""), None)
            if scope is None:
                return JSONResponse({"error": "invalid_request", "error_description": "The authorization code was "
                                     "not found or was already used"}, status_code=400)
            self.installed = True
            return JSONResponse(self._grant(scope, str(data.get("expiring", "0")) == "1"))

    async def _install_button(self, request: Request) -> Response:
        """The app listing's Install button; `?managed=1` installs the app as a managed install does."""
        if not self.app.app_url:
            return problem(409, "the app has no app URL: PUT /_sandbox/app {\"app_url\": …}")
        managed = request.query_params.get("managed") == "1"
        return RedirectResponse(self.managed_install_link() if managed else self.install_link(), status_code=302)

    async def _bulk_file(self, request: Request) -> Response:
        operation = self.bulk_operations.get(request.path_params["operation_id"])
        if operation is None or operation.path is None:
            return problem(404, "no such bulk operation result")
        return FileResponse(operation.path, media_type="application/jsonl")

    async def _shop_endpoint(self, request: Request) -> Response:
        if request.method == "GET":
            shop = self.shop
            return JSONResponse({"domain": shop.domain, "currency": shop.currency, "products": len(shop.products),
                                 "variants": len(shop.variants), "locations": len(shop.locations),
                                 "installed": self.installed})

        def change(d):
            if "currency" in d:
                self.set_currency(str(d["currency"]))
            if "generate" in d:
                return self.generate(int(d["generate"]), seed=int(d.get("seed", 1)),
                                     broken_rate=float(d.get("broken_rate", 0.01)))
            return {}

        return await json_operation(request, change)

    async def _products_endpoint(self, request: Request) -> Response:
        return await json_operation(request, lambda d: {"product_id": self.add_product(
            d["title"], d.get("variants"), status=d.get("status", "ACTIVE"), image_url=d.get("image_url"))}, 201)

    async def _product_endpoint(self, request: Request) -> Response:
        product_id = request.path_params["product_id"]
        if request.method == "DELETE":
            return await json_operation(request, lambda d: self.delete_product(product_id))
        return await json_operation(request, lambda d: self.update_product(product_id, **d))

    async def _variant_endpoint(self, request: Request) -> Response:
        variant_id = request.path_params["variant_id"]
        if request.method == "DELETE":
            return await json_operation(request, lambda d: self.delete_variant(variant_id))
        return await json_operation(request, lambda d: self.update_variant(variant_id, **d))

    async def _stock_endpoint(self, request: Request) -> Response:
        variant_id = request.path_params["variant_id"]
        return await json_operation(request, lambda d: self.set_stock(variant_id, int(d["available"]), d.get("location_id")))

    async def _customers_endpoint(self, request: Request) -> Response:
        return await json_operation(request, lambda d: {"customer_id": self.add_customer(
            d.get("email"), **{k: v for k, v in d.items() if k != "email"})}, 201)

    async def _customer_endpoint(self, request: Request) -> Response:
        customer_id = request.path_params["customer_id"]
        if request.method == "DELETE":
            return await json_operation(request, lambda d: self.delete_customer(customer_id))
        return await json_operation(request, lambda d: self.update_customer(customer_id, **d))

    async def _orders_endpoint(self, request: Request) -> Response:
        def place(d: dict) -> dict:
            order_id, line_ids = self.add_order(d.get("customer_id"), list(d["lines"]),
                                                attributes=[tuple(a) for a in d.get("attributes") or []],
                                                note=d.get("note"), tags=d.get("tags"),
                                                metafields={k: tuple(v) for k, v in (d.get("metafields") or {}).items()},
                                                shipping_address=d.get("shipping_address"),
                                                billing_address=d.get("billing_address"))
            return {"order_id": order_id, "line_item_ids": line_ids}
        return await json_operation(request, place, 201)

    async def _order_operation_endpoint(self, request: Request) -> Response:
        order_id, operation = request.path_params["order_id"], request.path_params["operation"]
        if operation == "fulfillments":
            return await json_operation(request, lambda d: {"fulfillment_id": self.fulfill(
                order_id, {int(k): int(v) for k, v in d["items"].items()}, company=d.get("company"),
                number=d.get("number"), url=d.get("url"))}, 201)
        if operation == "refunds":
            return await json_operation(request, lambda d: {"refund_id": self.refund(
                order_id, {int(k): (int(v[0]), str(v[1])) for k, v in d["items"].items()})}, 201)
        if operation == "cancel":
            return await json_operation(request, lambda d: self.cancel_order(order_id))
        return problem(404, "POST /_sandbox/orders/{id}/fulfillments, /refunds or /cancel")

    async def _catalogs_endpoint(self, request: Request) -> Response:
        return await json_operation(request, lambda d: {"price_list_id": self.add_catalog(
            d["title"], decrease_percent=float(d.get("decrease_percent", 0)), status=d.get("status", "ACTIVE"),
            fixed={int(k): str(v) for k, v in (d.get("fixed") or {}).items()})}, 201)

    async def _list_price_endpoint(self, request: Request) -> Response:
        price_list_id, variant_id = request.path_params["price_list_id"], request.path_params["variant_id"]
        return await json_operation(request, lambda d: self.set_list_price(price_list_id, variant_id, d.get("price")))

    async def _app_endpoint(self, request: Request) -> Response:
        if request.method == "GET":
            view = asdict(self.app)
            view.pop("client_secret")
            return JSONResponse(view)
        return await json_operation(request, lambda d: {k: v for k, v in asdict(self.configure_app(**d)).items()
                                                    if k != "client_secret"})

    async def _app_proxy_endpoint(self, request: Request) -> Response:
        customer = request.query_params.get("customer_id")
        if customer is not None and not customer.isdigit():
            return problem(400, "customer_id must be a customer's numeric id")
        return JSONResponse({"query": self.app_proxy_query(int(customer) if customer else None)})

    async def _uninstall_endpoint(self, request: Request) -> Response:
        return await json_operation(request, lambda d: self.uninstall())

    async def _privacy_endpoint(self, request: Request) -> Response:
        topic = request.path_params["topic"]
        return await json_operation(request, lambda d: {"deliveries": self.send_privacy_webhook(topic, d)})

    async def _throttle_endpoint(self, request: Request) -> Response:
        return await json_operation(request, lambda d: asdict(self.set_throttle(**d)))

    async def _webhooks_endpoint(self, request: Request) -> Response:
        dispatcher = self.webhooks
        return JSONResponse({
            "subscriptions": [{"id": s.id, "topic": s.topic, "callback_url": s.callback_url} for s in
                              dispatcher.subscriptions.values()],
            "removed": [s.id for s in dispatcher.removed], "pending": len(dispatcher.pending),
            "deliveries": [asdict(d) for d in dispatcher.deliveries],
        })

    async def _deliver_endpoint(self, request: Request) -> Response:
        return await json_operation(request, lambda d: {"attempts": self.deliver_webhooks(
            settle=bool(d.get("settle", True)), timeout=float(d.get("timeout", 30)))})

    def close(self) -> None:
        self._delivery.stop()
        for operation in self.bulk_operations.values():
            operation.cancel.set()
        self.webhooks.close()
        self._bulk_dir.cleanup()


async def _form(request: Request) -> dict[str, str]:
    """An urlencoded form body (the simulator has no multipart parser, and needs none)."""
    return dict(parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True))


def _host(domain: str) -> str:
    import base64

    return base64.urlsafe_b64encode(f"{domain}/admin".encode()).decode().rstrip("=")


def _objects(data: Any) -> int:
    """Objects in a result: what Shopify's actual cost counts (every object 1)."""
    if isinstance(data, dict):
        return 1 + sum(_objects(v) for v in data.values())
    if isinstance(data, list):
        return sum(_objects(v) for v in data)
    return 0


def _connection_nodes(connection: dict | None) -> list[dict]:
    connection = connection or {}
    if connection.get("edges") is not None:
        return [edge["node"] for edge in connection["edges"] if edge and edge.get("node")]
    return [node for node in connection.get("nodes") or [] if node]


def _flatten(node: dict, children: list[dict], parent_id: str | None = None) -> dict:
    """`node` without its nested connections, whose nodes go to `children` with `__parentId`: the id of
    the connection node they are under (a variant's stock levels under its inventory item are the variant's)."""
    out = _strip(node, node.get("id"), children)
    if parent_id is not None:
        out["__parentId"] = parent_id
    return out


def _strip(value: dict, owner_id: str | None, children: list[dict]) -> dict:
    out: dict = {}
    for key, item in value.items():
        if isinstance(item, dict) and ("edges" in item or "nodes" in item):
            for child in _connection_nodes(item):
                below: list[dict] = []
                children.append(_flatten(child, below, owner_id))
                children.extend(below)  # after their parent
        elif isinstance(item, dict):
            out[key] = _strip(item, owner_id, children)
        else:
            out[key] = item
    return out


def _bulk_problem(query: str) -> str | None:
    """Why Shopify would refuse `query` as a bulk query, or None: it must be valid, have one top-level
    connection (not `node`/`nodes`), at most 5 connections, nested at most 2 deep."""
    try:
        document = parse(query)
    except GraphQLError as exc:
        return f"Invalid bulk query: {exc.message}"
    errors = validate(SCHEMA, document)
    if errors:
        return "Invalid bulk query: " + "; ".join(e.message for e in errors)
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if len(operations) != 1 or operations[0].operation.value != "query":
        return "Invalid bulk query: it must be one query"
    top = operations[0].selection_set.selections
    names = [s.name.value if isinstance(s, FieldNode) else None for s in top]
    root = SCHEMA.query_type
    assert root is not None
    top_field = root.fields.get(names[0] or "") if len(top) == 1 else None
    if top_field is None or names[0] in ("node", "nodes") or \
            not graphql_api.get_named_type(top_field.type).name.endswith("Connection"):
        return "Bulk queries must contain at least one connection."
    connections: list[int] = []

    def walk(selection_set, parent, depth: int) -> None:
        for selection in selection_set.selections if selection_set else ():
            name = getattr(getattr(selection, "name", None), "value", None)
            target = parent
            if name is None:  # an inline fragment
                condition = getattr(selection, "type_condition", None)
                walk(selection.selection_set, SCHEMA.get_type(condition.name.value) if condition else parent, depth)
                continue
            field = (getattr(graphql_api.get_named_type(parent), "fields", None) or {}).get(name)
            if field is None:
                continue
            target = graphql_api.get_named_type(field.type)
            inner = depth
            if target.name.endswith("Connection"):
                inner = depth + 1
                connections.append(inner)
            walk(selection.selection_set, target, inner)

    walk(operations[0].selection_set, root, 0)
    if len(connections) > BULK_CONNECTIONS:
        return f"Bulk queries cannot contain more than {BULK_CONNECTIONS} connections."
    if connections and max(connections) > BULK_DEPTH:
        return f"Bulk queries cannot contain connections with a nesting depth greater than {BULK_DEPTH}."
    return None


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64url(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
