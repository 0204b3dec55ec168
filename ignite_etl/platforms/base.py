"""The interface every platform implements; the rest of the system sees only this and `model.py`."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, ValidationError, ValidationInfo, field_validator

from ignite_etl.model import (
    CataloguePage,
    Customer,
    CustomerRequest,
    Order,
    PriceList,
    StockLocation,
    StoreSettings,
    WebhookEvent,
)


class PlatformError(Exception):
    """A platform call failed permanently; the message says what and what to do."""


class PlatformUnavailable(PlatformError):
    """The platform did not answer or answered with a transient failure; retry later."""


class InvalidCredentials(PlatformError):
    """The platform refused the connection's credentials."""


class InvalidConfiguration(PlatformError):
    """The connection's configuration is incomplete (e.g. no base currency); the message says what to set."""


class InvalidSession(PlatformError):
    """A customer session token the platform does not recognise (expired, forged, for another store)."""


class WebhookRejected(PlatformError):
    """A webhook delivery failed verification (missing or wrong signature, unreadable body)."""


class WebhookMalformed(PlatformError):
    """A correctly signed delivery whose content is not a readable event (not JSON, no object id, a control
    character in an id); the message says what is wrong."""


class NotSupported(PlatformError):
    """The platform cannot do this (e.g. create customers when it keeps none); the message says why."""


class InstallRefused(PlatformError):
    """An install request or callback that is not the platform's (signature missing or wrong) or names no
    store; the message is shown to the merchant."""


class SettingProblem(ValueError):
    """A connect setting that is wrong, with the merchant-facing message; `field` names it when a check spans
    several fields."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


class ConnectSettings(BaseModel):
    """A platform's connect settings: the keys of SparkLayer's `extra_config` (or the connect form) that
    the platform needs, validated once, here, with messages a merchant can act on. Every field is optional
    (a connect call may bring none; the connect page asks for the rest); `required` says which ones the
    connection cannot complete without, `secret` which ones are stored encrypted."""

    model_config = ConfigDict(extra="ignore", frozen=True, str_strip_whitespace=True)

    required: ClassVar[tuple[str, ...]] = ()
    secret: ClassVar[frozenset[str]] = frozenset()

    @field_validator("*", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, str) and any(ord(c) < 32 or c == "\x7f" for c in value):
            raise SettingProblem(f"{info.field_name} contains a control character; enter it again without one")
        return None if isinstance(value, str) and not value.strip() else value

    @property
    def complete(self) -> bool:
        return all(getattr(self, name) for name in self.required)

    def config(self) -> dict[str, Any]:
        """The settings stored in plain text."""
        return {k: v for k, v in self.model_dump().items() if k not in self.secret and v is not None}

    def secrets(self) -> dict[str, str]:
        """The settings stored encrypted."""
        return {k: v for k, v in self.model_dump().items() if k in self.secret and v}

    @classmethod
    def parse(cls, values: Mapping[str, Any]) -> ConnectSettings:
        """Raises `InvalidSettings` with every problem, each tied to its field."""
        try:
            return cls.model_validate(dict(values))
        except ValidationError as exc:
            raise InvalidSettings(_problems(exc)) from None

    @classmethod
    def stored(cls, config: Mapping[str, Any], secrets: Mapping[str, str]) -> ConnectSettings:
        """The settings of a stored connection (its plain config and its decrypted secrets)."""
        return cls.parse({**config, **secrets})


class InvalidSettings(InvalidConfiguration):
    """Connect settings that do not validate: `problems` maps each field to what is wrong with it."""

    def __init__(self, problems: dict[str, str]):
        self.problems = problems
        super().__init__("; ".join(f"{name}: {message}" for name, message in problems.items()))


def _problems(exc: ValidationError) -> dict[str, str]:
    out: dict[str, str] = {}
    for error in exc.errors():
        cause = (error.get("ctx") or {}).get("error")
        name = getattr(cause, "field", None) or ".".join(str(p) for p in error["loc"]) or "settings"
        out.setdefault(name, str(cause) if isinstance(cause, SettingProblem) else error["msg"])
    return out


@dataclass(frozen=True)
class FormField:
    """One input of the connect page."""

    name: str  # the ConnectSettings field it fills
    label: str
    secret: bool = False
    placeholder: str = ""
    max_length: int | None = None


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

    def price_lists(self) -> list[PriceList]:
        """The store's price lists beside the platform's own (Shopify's B2B catalogs), each mirrored as a
        SparkLayer list; a full read of the catalogue brings their prices (`Price.price_list_slug`)."""
        return []

    @abstractmethod
    def stock_locations(self) -> list[StockLocation]:
        """The locations the catalogue's stock levels name; each must exist in SparkLayer before stock is
        written to it."""

    @abstractmethod
    def register_webhooks(self, url: str, previous: WebhookRegistration | None = None) -> WebhookRegistration:
        """Make sure the platform sends change webhooks to `url`, and only through the registration
        returned: `previous` is returned unchanged when it still stands; otherwise new webhooks are
        registered and the ones `previous` (or any other registration for `url`) made are retired."""

    def fetch_customers(self, ids: Sequence[str]) -> list[Customer] | None:
        """The current state of the customers a webhook named; None when the platform sends no customer
        webhooks (its customers are synced by the full sync only)."""
        return None

    def upsert_customer(self, customer: CustomerRequest) -> str:
        """Create or update (by email) a customer on the platform for SparkLayer; returns its external id.
        `PlatformError` with a merchant-facing message when the platform refuses it."""
        raise NotSupported(f"{type(self).__name__} cannot create customers")

    def verify_customer_session(self, token: str) -> str:
        """The external id of the customer whose platform session `token` is (SparkLayer's customer
        authentication); `InvalidSession` when it is not a valid session."""
        raise NotSupported(f"{type(self).__name__} has no customer sessions")

    def close(self) -> None:  # noqa: B027 - a platform without connections to release keeps this no-op
        """Release connections; the platform is unusable afterwards."""

    def __enter__(self) -> Platform:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@dataclass(frozen=True)
class InstallStart:
    """Where an install request sends the merchant: the platform's authorisation page for `store_id`."""

    store_id: str
    authorize_url: str


class InstallFlow(ABC):
    """A platform's app-store install (the platform-initiated connection flow, OAuth-style): the platform
    opens our install link, the merchant authorises the app on the platform, the platform calls us back
    with a code we exchange for the store's credentials. The generic part (our `state`, the pages, the
    SparkLayer registration) is the ingress's; a flow knows only its platform's side."""

    @abstractmethod
    def begin(self, query: Mapping[str, str], *, state: str, callback_url: str) -> InstallStart:
        """The store an install request names and its authorisation URL (carrying `state` and
        `callback_url`). `InstallRefused` when the request is not the platform's or names no store."""

    @abstractmethod
    def verify_callback(self, query: Mapping[str, str]) -> str:
        """The store a callback is for, after checking the platform's signature; `InstallRefused` otherwise.
        Checks only what the platform signed: `state` is the caller's to check."""

    @abstractmethod
    def exchange(self, query: Mapping[str, str], *, callback_url: str) -> ConnectSettings:
        """The store's connect settings (its credentials among them) for a verified callback's code, or for
        a managed install's proof; `InstallRefused` when the platform refuses it, `PlatformUnavailable` when
        it does not answer."""

    def managed(self, query: Mapping[str, str]) -> str | None:
        """For an install the platform made itself, without sending the merchant to authorise the app
        (Shopify's managed install opens the app with a session token), the once-only id of the proof the
        request carries, after checking it; `exchange` then takes the same request. None when the merchant
        must authorise first (`begin`); `InstallRefused` when the proof is not the platform's or has expired."""
        return None


PrivacyKind = Literal["customer_data_request", "customer_redact", "store_redact"]


@dataclass(frozen=True)
class PrivacyRequest:
    """A verified privacy request from the platform (e.g. Shopify's compliance webhooks): a customer asks
    for their data or its deletion, or a store that removed the app is to be forgotten."""

    kind: PrivacyKind
    store_id: str
    customer_id: str | None
    idempotency_key: str
    order_ids: tuple[str, ...] = ()
    """The customer's orders whose data is to go with them (a redaction)."""


@dataclass(frozen=True)
class PlatformSpec:
    """Everything the rest of the system knows of a platform: registered once, in `ignite_etl.platforms`.

    `build(settings, **options)` makes the connected adapter; `verify_webhook(headers, raw_body, key)` checks
    a delivery's signature and reads it into a canonical `WebhookEvent`; `install(app, **options)` makes the
    app-store flow of a platform that has one, from the app's credentials (`IGNITE_APP_<NAME>_<KEY>`
    variables, e.g. `client_id`, `client_secret`). The `build` of a platform with an install flow also takes
    `app` (those credentials) and `save_secrets` (called with secrets the adapter renewed, to store them)."""

    name: str
    display_name: str
    settings: type[ConnectSettings]
    form_fields: tuple[FormField, ...]
    connect_help: str  # the connect page's first paragraph: where the merchant finds these settings
    build: Callable[..., Platform]
    verify_webhook: Callable[[Mapping[str, str], bytes, str], WebhookEvent]
    install: Callable[..., InstallFlow] | None = None
    verify_privacy_webhook: Callable[[Mapping[str, str], bytes, Mapping[str, str]], PrivacyRequest] | None = None
    """Checks a privacy webhook against the app's credentials (the third argument) and reads it; they come to
    `/webhooks/{platform}/privacy`, one address per app."""
    has_customers: bool = False  # SparkLayer may create customers on it and verify their sessions

    @property
    def price_list_name(self) -> str:
        return f"{self.display_name} Price"

    @property
    def price_list_slug(self) -> str:
        return f"{self.name}-price"
