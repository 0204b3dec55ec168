"""The simulator's webhook deliveries: per-shop subscriptions made through the Admin API and the app's
compliance address, each delivery signed with the app's client secret over the raw body, answered within
5 s or failed, retried 8 times over about 4 hours (time-scaled), and a subscription removed after 8
consecutive failures, as Shopify does (shopify-api.md §3)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx

from ignite_etl.sandbox.shopify.shop import iso

logger = logging.getLogger(__name__)

API_VERSION = "2025-01"
RETRY_DELAYS_SECONDS = (10, 30, 60, 180, 600, 1800, 3600, 7200)
"""Eight retries, exponentially spaced, about 3.7 hours in all: Shopify publishes "8 times over 4 hours"."""
FAILURES_BEFORE_REMOVAL = 8
CONNECT_TIMEOUT_SECONDS = 1.0
RESPONSE_TIMEOUT_SECONDS = 5.0


def sign(body: bytes, secret: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def topic_of(enum_value: str) -> str:
    """`INVENTORY_LEVELS_UPDATE` -> `inventory_levels/update`."""
    resource, _, action = enum_value.lower().rpartition("_")
    return f"{resource}/{action}"


@dataclass
class Subscription:
    id: int
    topic: str  # the WebhookSubscriptionTopic value
    callback_url: str
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    consecutive_failures: int = 0


@dataclass
class Pending:
    url: str
    topic: str
    body: bytes
    event_id: str
    triggered_at: str
    subscription_id: int | None  # None: a compliance webhook (the app's address, never removed)
    webhook_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    attempts: int = 0
    due: float = 0.0


@dataclass(frozen=True)
class Delivery:
    """One attempt, as the sandbox recorded it (for tests and `/_sandbox/webhooks`)."""

    topic: str
    url: str
    webhook_id: str
    status: int | None
    attempt: int


class WebhookDispatcher:
    def __init__(self, shop_domain: str, *, time_scale: float = 1.0):
        self.shop_domain = shop_domain
        self.time_scale = time_scale
        self.client_secret = ""
        self.subscriptions: dict[int, Subscription] = {}
        self.pending: list[Pending] = []
        self.deliveries: list[Delivery] = []
        self.removed: list[Subscription] = []
        self._lock = threading.RLock()
        self._http = httpx.Client(timeout=httpx.Timeout(RESPONSE_TIMEOUT_SECONDS, connect=CONNECT_TIMEOUT_SECONDS),
                                  follow_redirects=False)

    def emit(self, topic: str, payload: dict, *, compliance_url: str | None = None) -> int:
        """Queue one delivery per subscription to `topic` (or one to the app's compliance address); the count."""
        body = json.dumps(payload, separators=(",", ":")).encode()
        event_id, triggered = str(uuid.uuid4()), iso(datetime.now(UTC))
        with self._lock:
            targets = ([(compliance_url, None)] if compliance_url else
                       [(s.callback_url, s.id) for s in self.subscriptions.values() if topic_of(s.topic) == topic])
            for url, subscription_id in targets:
                self.pending.append(Pending(url, topic, body, event_id, triggered, subscription_id, due=time.monotonic()))
            return len(targets)

    def headers(self, item: Pending) -> dict[str, str]:
        return {
            "Content-Type": "application/json", "X-Shopify-Topic": item.topic,
            "X-Shopify-Hmac-Sha256": sign(item.body, self.client_secret), "X-Shopify-Shop-Domain": self.shop_domain,
            "X-Shopify-API-Version": API_VERSION, "X-Shopify-Webhook-Id": item.webhook_id,
            "X-Shopify-Triggered-At": item.triggered_at, "X-Shopify-Event-Id": item.event_id,
        }

    def deliver_due(self) -> int:
        """Attempt every delivery that is due; the attempts made."""
        now = time.monotonic()
        with self._lock:
            due = [p for p in self.pending if p.due <= now]
        for item in due:
            self._attempt(item)
        return len(due)

    def deliver(self, *, settle: bool = True, timeout: float = 30.0) -> int:
        """Deliver what is pending now; with `settle`, keep going through the (time-scaled) retries."""
        attempts = self.deliver_due()
        deadline = time.monotonic() + timeout
        while settle and self.pending and time.monotonic() < deadline:
            time.sleep(0.01)
            attempts += self.deliver_due()
        return attempts

    def _attempt(self, item: Pending) -> None:
        try:
            status: int | None = self._http.post(item.url, content=item.body, headers=self.headers(item)).status_code
        except httpx.HTTPError:
            status = None
        ok = status is not None and 200 <= status < 300
        with self._lock:
            item.attempts += 1
            self.deliveries.append(Delivery(item.topic, item.url, item.webhook_id, status, item.attempts))
            subscription = self.subscriptions.get(item.subscription_id) if item.subscription_id else None
            if ok:
                self.pending.remove(item)
                if subscription:
                    subscription.consecutive_failures = 0
                return
            if subscription:
                subscription.consecutive_failures += 1
                if subscription.consecutive_failures >= FAILURES_BEFORE_REMOVAL:
                    self._remove(subscription)
                    return
            if item.attempts > len(RETRY_DELAYS_SECONDS):
                self.pending.remove(item)
                return
            item.due = time.monotonic() + RETRY_DELAYS_SECONDS[item.attempts - 1] * self.time_scale

    def _remove(self, subscription: Subscription) -> None:
        logger.info("removing webhook subscription %s after %s consecutive failures", subscription.id,
                    subscription.consecutive_failures)
        self.subscriptions.pop(subscription.id, None)
        self.removed.append(subscription)
        self.pending = [p for p in self.pending if p.subscription_id != subscription.id]

    def close(self) -> None:
        self._http.close()
