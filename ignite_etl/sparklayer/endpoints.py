"""Every SparkLayer path this project calls, in one table, so a confirmed contract changes one line.

Paths are relative to an environment's base URL (`live` or `test`, see `base_url_for`). What is
confirmed about each, and what we decided, is in CONTRACTS.md ("SparkLayer API").
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

BASE_URLS = {
    "live": "https://app.sparklayer.io",
    "test": "https://test.app.sparklayer.io",
}

MAX_BATCH_SIZE = 500
MAX_SYNC_LOG_ERRORS = 5000


@dataclass(frozen=True)
class Endpoint:
    """One operation: method, path template and whether a 409 on it means a concurrent update
    (retry it) rather than a conflict in the data (a permanent per-record error)."""

    name: str
    method: str
    path: str
    retry_conflict: bool = True
    authenticated: bool = True

    def url_path(self, **params: str) -> str:
        return self.path.format(**{key: quote(str(value), safe="") for key, value in params.items()})


TOKEN = Endpoint("token", "POST", "/api/auth/token", authenticated=False)
CREATE_PRODUCT = Endpoint("create_product", "POST", "/api/v1/products", retry_conflict=False)
UPDATE_PRODUCT = Endpoint("update_product", "PATCH", "/api/v1/products/{id}")
UPDATE_VARIANT = Endpoint("update_variant", "PATCH", "/api/v1/product-variants/{id}")
BATCH_UPDATE_STOCK = Endpoint("batch_update_stock", "POST", "/api/v1/batch-update-stock")
CREATE_STOCK_LOCATION = Endpoint("create_stock_location", "POST", "/api/v1/stock-locations", retry_conflict=False)
CREATE_PRICE_LIST = Endpoint("create_price_list", "POST", "/api/v1/price-lists")
LIST_PRICE_LISTS = Endpoint("list_price_lists", "GET", "/api/v2/price-lists")
UPDATE_PRICING = Endpoint("update_pricing", "PATCH", "/api/v1/price-lists/{slug}/pricing")
GET_CUSTOMER = Endpoint("get_customer", "GET", "/api/v2/customers/{lookup_by}/{identifier}")
UPSERT_CUSTOMER = Endpoint("upsert_customer", "PUT", "/api/v2/customers/{lookup_by}/{identifier}", retry_conflict=False)
DELETE_CUSTOMER = Endpoint("delete_customer", "DELETE", "/api/v2/customers/platform/{external_id}")
PATCH_SETTINGS = Endpoint("patch_settings", "PATCH", "/api/v1/settings")
PUT_PURCHASE = Endpoint("put_purchase", "PUT", "/api/v1/purchases/{lookup_by}/{identifier}", retry_conflict=False)
PUT_SYNC_LOG = Endpoint("put_sync_log", "PUT", "/api/v1/sync-log/{integration}/{data_type}")
PATCH_SYNC_LOG = Endpoint("patch_sync_log", "PATCH", "/api/v1/sync-log/{integration}/{data_type}")
GET_SYNC_LOG = Endpoint("get_sync_log", "GET", "/api/v1/sync-log/{integration}/{data_type}")
GET_SYNC_LOG_ERRORS = Endpoint("get_sync_log_errors", "GET", "/api/v1/sync-log/{integration}/{data_type}/errors")
DELETE_SYNC_LOGS = Endpoint("delete_sync_logs", "DELETE", "/api/v1/sync-log")


def base_url_for(site_env: str, override: str | None = None) -> str:
    """The API base URL of an environment; `override` (SPARKLAYER_API_URL) wins when set, with
    `{site_env}` in it filled in (one sandbox serves both environments under /live and /test)."""
    if override:
        return override.replace("{site_env}", site_env).rstrip("/")
    try:
        return BASE_URLS[site_env]
    except KeyError:
        raise ValueError(f"unknown SparkLayer environment {site_env!r}; expected 'live' or 'test'") from None
