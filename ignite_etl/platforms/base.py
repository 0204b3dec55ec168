"""The interface every platform implements; the rest of the system sees only this and `model.py`."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ignite_etl.model import CataloguePage, Customer, Order, StockLocation, StoreSettings, WebhookEvent


class PlatformError(Exception):
    """A platform call failed permanently; the message says what and what to do."""


class PlatformUnavailable(PlatformError):
    """The platform did not answer or answered with a transient failure; retry later."""


class InvalidCredentials(PlatformError):
    """The platform refused the connection's credentials."""


class InvalidConfiguration(PlatformError):
    """The connection's configuration is incomplete (e.g. no base currency); the message says what to set."""


class WebhookRejected(PlatformError):
    """A webhook delivery failed verification (missing or wrong signature, unreadable body)."""


@dataclass(frozen=True)
class WebhookRegistration:
    """The webhooks a platform sends us: the signing key (stored encrypted) and the platform's own
    bookkeeping (`state`, plain JSON without secrets: ids, where they were registered), handed back to
    `register_webhooks` next time so it can tell whether they still stand and retire the old ones."""

    key: str = field(repr=False)
    state: dict[str, Any] = field(default_factory=dict)


class Platform(ABC):
    """A connected platform store, built by `ignite_etl.platforms.platform_for`."""

    name: str

    @abstractmethod
    def check_credentials(self) -> None:
        """Raise `InvalidCredentials` or `PlatformUnavailable` unless one cheap call succeeds."""

    @abstractmethod
    def iter_catalogue(
        self, updated_since: datetime | None = None, *, page_size: int | None = None
    ) -> Iterator[CataloguePage]:
        """Every product changed since `updated_since` (all when None), one page at a time,
        including deleted and unpublished ones as `discontinued`."""

    @abstractmethod
    def fetch_products(self, ids: Sequence[str]) -> CataloguePage:
        """The current state of the products (or of the products of the variants) a webhook named."""

    @abstractmethod
    def iter_orders(self, updated_since: datetime | None = None) -> Iterator[Order]:
        """SparkLayer orders changed since `updated_since`, each whole (all its lines and packages)."""

    @abstractmethod
    def fetch_orders(self, ids: Sequence[str]) -> list[Order]:
        """The current state of the SparkLayer orders a webhook named (by order or invoice id)."""

    @abstractmethod
    def iter_customers(self, updated_since: datetime | None = None) -> Iterator[Customer]:
        """B2B customers changed since `updated_since`, each once."""

    @abstractmethod
    def store_settings(self) -> StoreSettings:
        """The store settings SparkLayer mirrors (base currency)."""

    @abstractmethod
    def stock_locations(self) -> list[StockLocation]:
        """The locations the catalogue's stock levels name; each must exist in SparkLayer before stock is
        written to it."""

    @abstractmethod
    def register_webhooks(self, url: str, previous: WebhookRegistration | None = None) -> WebhookRegistration:
        """Make sure the platform sends change webhooks to `url`, and only through the registration
        returned: `previous` is returned unchanged when it still stands; otherwise new webhooks are
        registered and the ones `previous` (or any other registration for `url`) made are retired."""

    @staticmethod
    @abstractmethod
    def verify_webhook(headers: Mapping[str, str], raw_body: bytes, key: str) -> WebhookEvent:
        """Check the delivery's signature before reading it, then return the event it names.

        Raises `WebhookRejected` when the signature is missing or wrong or the body is unreadable."""

    def close(self) -> None:
        """Release connections; the platform is unusable afterwards."""

    def __enter__(self) -> "Platform":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
