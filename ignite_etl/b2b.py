"""SparkLayer's variant-level B2B attributes, read from the text values a platform keeps under SparkLayer's
own metafield key names (`rrp`, `pack_size`, `min_order_quantity`, `max_order_quantity`, `settings`,
`restock_date`, `min_stock_level`, `stock_location_data`). A value that does not parse is a problem for that
record, never an exception: the rest of the record still syncs.

`stock_location_data` (its format is not published) is read as SparkLayer's own per-location stock fields:
`restock_date` and `min_stock_level` for each stock location, which win over the variant-wide keys there.
The keys without a known SparkLayer variant field (`min_order_parent_quantity`, `max_order_parent_quantity`,
`reserve_stock_quantity`, `display`, `sell`) are ignored (CONTRACTS.md).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import ValidationError

from ignite_etl.model import VariantSetting

DEFAULT_GROUP = "base"
"""The customer group the plain keys (`pack_size`, `min_order_quantity`, `max_order_quantity`) apply to."""

# settings item keys: SparkLayer's API names, and the metafield names merchants know, to the API names
_SETTING_KEYS = {
    "minimum_order_quantity": "minimum_order_quantity", "min_order_quantity": "minimum_order_quantity",
    "maximum_order_quantity": "maximum_order_quantity", "max_order_quantity": "maximum_order_quantity",
    "order_increment": "order_increment", "pack_size": "order_increment",
}
_PLAIN_SETTING_KEYS = ("pack_size", "min_order_quantity", "max_order_quantity")
KEYS = ("rrp", "settings", *_PLAIN_SETTING_KEYS, "restock_date", "min_stock_level", "stock_location_data")
_LOCATION_KEYS = ("stock_location_external_id", "location_id", "location")
"""What a `stock_location_data` item may call its location: SparkLayer's field name, or the platform's."""


@dataclass(frozen=True)
class AttributeProblem:
    key: str
    value: str
    expected: str  # what the value should look like, in the merchant's words


@dataclass(frozen=True)
class LocationStock:
    restock_date: date | None = None
    min_stock_level: int | None = None


@dataclass
class VariantAttributes:
    rrp: Decimal | None = None
    settings: tuple[VariantSetting, ...] = ()
    restock_date: date | None = None
    min_stock_level: int | None = None
    locations: dict[str, LocationStock] = field(default_factory=dict)  # from stock_location_data
    problems: list[AttributeProblem] = field(default_factory=list)

    def stock_at(self, location: str) -> LocationStock:
        """The restock date and minimum stock level at one location: its own where `stock_location_data` gives
        them, else the variant's."""
        own = self.locations.get(location, LocationStock())
        return LocationStock(own.restock_date or self.restock_date,
                             own.min_stock_level if own.min_stock_level is not None else self.min_stock_level)


def parse_variant_attributes(values: Mapping[str, str]) -> VariantAttributes:
    """The attributes among `values` (key -> text); keys SparkLayer does not know are ignored."""
    out = VariantAttributes()

    def problem(key: str, expected: str) -> None:
        out.problems.append(AttributeProblem(key, str(values[key]), expected))

    if "rrp" in values:
        out.rrp = parse_amount(values["rrp"])
        if out.rrp is None:
            problem("rrp", "a price such as 24.95")
    if "restock_date" in values:
        try:
            out.restock_date = date.fromisoformat(str(values["restock_date"]).strip())
        except ValueError:
            problem("restock_date", "a date such as 2027-03-01")
    if "min_stock_level" in values:
        out.min_stock_level = _integer(values["min_stock_level"])
        if out.min_stock_level is None:
            problem("min_stock_level", "a whole number such as 10")
    if "stock_location_data" in values:
        locations = _location_data(values["stock_location_data"])
        if locations is None:
            problem("stock_location_data", 'JSON such as [{"stock_location_external_id": "main", '
                                           '"restock_date": "2027-03-01", "min_stock_level": 5}]')
        else:
            out.locations = locations
    plain: dict[str, int] = {}
    for key in _PLAIN_SETTING_KEYS:
        if key in values:
            number = _integer(values[key])
            if number is None or number < 1:
                problem(key, "a whole number of at least 1")
            else:
                plain[_SETTING_KEYS[key]] = number
    settings: dict[str, VariantSetting] = {}
    if plain:
        settings[DEFAULT_GROUP] = VariantSetting(customer_group=DEFAULT_GROUP, **plain)
    if "settings" in values:
        parsed = _settings(values["settings"])
        if parsed is None:
            problem("settings", 'JSON such as [{"customer_group": "base", "minimum_order_quantity": 4, '
                                '"order_increment": 2}]')
        else:
            settings.update({s.customer_group: s for s in parsed})  # `settings` supersedes the plain keys
    out.settings = tuple(settings[group] for group in sorted(settings))
    return out


def parse_amount(value: Any) -> Decimal | None:
    """A non-negative finite decimal, or None."""
    if value is None:
        return None
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return amount if amount.is_finite() and amount >= 0 else None


def _integer(value: Any) -> int | None:
    text = str(value).strip()
    return int(text) if text.lstrip("-").isdigit() else None


def _json_items(text: str, key_name: str) -> list | None:
    """JSON as a list of items, or as an object keyed by one of the items' fields (`key_name`), made that
    list; None when it is neither."""
    try:
        data = json.loads(text)
    except (TypeError, ValueError):
        return None
    if isinstance(data, dict):
        data = [{key_name: key, **item} if isinstance(item, dict) else None for key, item in data.items()]
    return data if isinstance(data, list) else None


def _location_data(text: str) -> dict[str, LocationStock] | None:
    """A list of {location, restock_date?, min_stock_level?}, or an object keyed by location; None when
    neither, or when a value does not parse."""
    data = _json_items(text, "location")
    if data is None:
        return None
    out: dict[str, LocationStock] = {}
    for item in data:
        if not isinstance(item, dict):
            return None
        location = next((str(item[k]) for k in _LOCATION_KEYS if item.get(k) not in (None, "")), None)
        if location is None or any(k not in (*_LOCATION_KEYS, "restock_date", "min_stock_level") for k in item):
            return None
        try:
            restock = date.fromisoformat(str(item["restock_date"]).strip()) if item.get("restock_date") else None
        except ValueError:
            return None
        minimum = item.get("min_stock_level")
        if minimum is not None and (isinstance(minimum, bool) or _integer(minimum) is None):
            return None
        out[location] = LocationStock(restock, _integer(minimum) if minimum is not None else None)
    return out


def _settings(text: str) -> list[VariantSetting] | None:
    """A list of {customer_group, rules...}, or an object keyed by customer group; None when neither."""
    data = _json_items(text, "customer_group")
    if data is None:
        return None
    out = []
    for item in data:
        if not isinstance(item, dict) or not isinstance(item.get("customer_group"), str):
            return None
        if any(k not in _SETTING_KEYS for k in item if k != "customer_group"):
            return None
        rules = {_SETTING_KEYS[k]: v for k, v in item.items() if k != "customer_group"}
        if any(not isinstance(v, int) or isinstance(v, bool) for v in rules.values()):
            return None
        try:
            out.append(VariantSetting(customer_group=item["customer_group"], **rules))
        except ValidationError:
            return None
    return out
