"""What one simulated SparkLayer site holds: its API credentials and its data, per (env, Site-Id)."""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass, field
from typing import Any


def new_id(prefix: str = "") -> str:
    return f"{prefix}{uuid.uuid4().hex[:16]}" if prefix else str(uuid.uuid4())


@dataclass
class SiteState:
    env: str
    site_id: str
    client_id: str
    client_secret: str = field(repr=False)
    settings_api_allowed: bool = True
    customer_groups: set[str] = field(default_factory=lambda: {"base"})
    stock_locations: dict[str, dict[str, Any]] = field(default_factory=dict)  # by external_id; none until created
    products: dict[str, dict[str, Any]] = field(default_factory=dict)  # by product external_id
    variants: dict[str, dict[str, Any]] = field(default_factory=dict)  # by variant external_id
    stock: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)  # by (sku, location)
    price_lists: dict[str, dict[str, Any]] = field(default_factory=dict)  # by slug
    pricing: dict[str, dict[str, list[dict[str, Any]]]] = field(default_factory=dict)  # slug -> sku -> breaks
    customers: dict[str, dict[str, Any]] = field(default_factory=dict)  # by SparkLayer id
    settings: dict[str, Any] = field(default_factory=lambda: {"baseCurrency": None})
    purchases: dict[str, dict[str, Any]] = field(default_factory=dict)  # by SparkLayer id
    sync_logs: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)  # (integration, data_type)

    def find_product(self, identifier: str) -> dict[str, Any] | None:
        if identifier in self.products:
            return self.products[identifier]
        return next((p for p in self.products.values() if p["id"] == identifier), None)

    def find_variant(self, identifier: str) -> dict[str, Any] | None:
        if identifier in self.variants:
            return self.variants[identifier]
        return next((v for v in self.variants.values() if v["id"] == identifier), None)

    def find_customer(self, lookup_by: str, identifier: str) -> dict[str, Any] | None:
        for customer in self.customers.values():
            if lookup_by == "email" and customer["email"].lower() == identifier.lower():
                return customer
            if lookup_by == "platform" and customer.get("external_id") == identifier:
                return customer
            if lookup_by == "sparklayer" and identifier in (customer["id"], customer.get("legacy_id")):
                return customer
        return None

    def find_stock_location(self, identifier: str) -> dict[str, Any] | None:
        """By external id, or by SparkLayer's id (`stock_location_id`)."""
        if identifier in self.stock_locations:
            return self.stock_locations[identifier]
        return next((loc for loc in self.stock_locations.values() if loc["id"] == identifier), None)

    def find_purchase(self, lookup_by: str, identifier: str) -> dict[str, Any] | None:
        for purchase in self.purchases.values():
            if purchase["purchase_identifiers"].get(lookup_by) == identifier:
                return purchase
        return None

    def snapshot(self) -> dict[str, Any]:
        """A JSON-ready copy of the site's data (never its secret)."""
        return copy.deepcopy(
            {
                "env": self.env,
                "site_id": self.site_id,
                "customer_groups": sorted(self.customer_groups),
                "stock_locations": self.stock_locations,
                "products": self.products,
                "variants": self.variants,
                "stock": [dict(v) for _, v in sorted(self.stock.items())],
                "price_lists": self.price_lists,
                "pricing": self.pricing,
                "customers": {c.get("external_id") or cid: c for cid, c in self.customers.items()},
                "settings": self.settings,
                "purchases": self.purchases,
                "sync_logs": {f"{i}/{d}": log for (i, d), log in self.sync_logs.items()},
            }
        )
