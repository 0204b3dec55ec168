"""The simulator's webhook emitter: registered webhooks, events with sequence and idempotency key,
signed deliveries, Marketplacer's published retry backoff (time-scaled), and optional chaos."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from ignite_etl.sandbox.marketplacer.catalogue import Change, global_id

logger = logging.getLogger(__name__)

DEFAULT_QUERY = "query($id: ID!) { node(id: $id) { __typename } }"
DEFAULT_MAX_RETRIES = 25
DELIVERY_TIMEOUT_SECONDS = 30.0


def retry_delay_seconds(retry_count: int, rng: random.Random) -> float:
    """Marketplacer's published backoff: (retry_count**4) + 15 + (rand(10) * (retry_count + 1))."""
    return retry_count**4 + 15 + rng.randrange(10) * (retry_count + 1)


def sign(body: bytes, key: str) -> str:
    return base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()


@dataclass(slots=True)
class SimWebhook:
    legacy_id: int
    url: str
    type: str
    headers: dict[str, str]
    enabled: bool
    allow_skip: bool
    query_string: str
    event_name: str | None
    hmac_key: str | None = field(repr=False)
    max_retries: int
    concurrent_send_limit: int = 5
    last_body: bytes | None = None

    def view(self) -> dict:
        """The `Webhook` object as the API shows it (never its HMAC key)."""
        return {
            "__typename": "Webhook", "id": global_id("Webhook", self.legacy_id), "legacyId": self.legacy_id,
            "url": self.url, "type": self.type, "enabled": self.enabled, "allowSkip": self.allow_skip,
            "maxRetries": self.max_retries, "concurrentSendLimit": self.concurrent_send_limit,
            "legacyFormat": False, "queryString": self.query_string, "headers": self.headers,
            "eventName": self.event_name.upper() if self.event_name else None,
        }


@dataclass(slots=True)
class WebhookEventRecord:
    legacy_id: int
    webhook_id: int
    sequence: int
    event_name: str
    object_id: str
    body: bytes
    state: str = "unsent"  # unsent, retrying, sent, failed
    retries: int = 0
    due: float = 0.0
    responses: list[int] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Delivery:
    """One attempt, as the sandbox recorded it (for tests and the /_sandbox/ API)."""

    event_id: int
    webhook_id: int
    sequence: int
    status: int | None


class WebhookDispatcher:
    """Turns catalogue changes into events and delivers them. `time_scale` shrinks every backoff."""

    def __init__(self, vertical: str = "sandbox", time_scale: float = 1.0, seed: int = 0) -> None:
        self.vertical = vertical
        self.time_scale = time_scale
        self.webhooks: dict[int, SimWebhook] = {}
        self.events: dict[int, WebhookEventRecord] = {}
        self.deliveries: list[Delivery] = []
        self.duplicate_rate = 0.0
        self.out_of_order = False
        self._rng = random.Random(seed)
        self._sequence = 0
        self._lock = threading.RLock()
        self._http = httpx.Client(timeout=DELIVERY_TIMEOUT_SECONDS)

    def create(self, attributes: dict) -> SimWebhook:
        with self._lock:
            webhook = SimWebhook(
                legacy_id=len(self.webhooks) + 1,
                url=attributes["url"],
                type=attributes["type"],
                headers=dict(attributes.get("headers") or {}),
                enabled=attributes.get("enabled", True) is not False,
                allow_skip=bool(attributes.get("allowSkip")),
                query_string=attributes.get("queryString") or DEFAULT_QUERY,
                event_name=(attributes.get("eventName") or "").lower() or None,
                hmac_key=attributes.get("hmacKey") or None,
                max_retries=DEFAULT_MAX_RETRIES if attributes.get("maxRetries") is None else attributes["maxRetries"],
            )
            self.webhooks[webhook.legacy_id] = webhook
            return webhook

    def update(self, webhook: SimWebhook, attributes: dict) -> SimWebhook:
        """`webhookUpdate`: the attributes given replace the webhook's."""
        fields = {"url": "url", "type": "type", "headers": "headers", "enabled": "enabled", "allowSkip": "allow_skip",
                  "queryString": "query_string", "hmacKey": "hmac_key", "maxRetries": "max_retries",
                  "concurrentSendLimit": "concurrent_send_limit"}
        with self._lock:
            for name, value in attributes.items():
                if name == "eventName":
                    webhook.event_name = value.lower() if value else None
                elif name in fields and value is not None:
                    setattr(webhook, fields[name], dict(value) if name == "headers" else value)
            return webhook

    def configure_chaos(self, duplicate_rate: float = 0.0, out_of_order: bool = False) -> None:
        self.duplicate_rate = duplicate_rate
        self.out_of_order = out_of_order

    def record(self, changes: list[Change], execute: Callable[[str, dict], dict]) -> int:
        """Queue an event per change per matching enabled webhook; `execute` runs the webhook's query."""
        created = 0
        with self._lock:
            for change in changes:
                for webhook in self.webhooks.values():
                    if not webhook.enabled or webhook.type != change.klass:
                        continue
                    if webhook.event_name and webhook.event_name != change.event_name:
                        continue
                    payload = execute(webhook.query_string, {"id": change.object_id})
                    self._sequence += 1
                    event_id = len(self.events) + 1
                    body = json.dumps({
                        "id": global_id("WebhookEvent", event_id),
                        "event_name": change.event_name,
                        "payload": payload,
                    }).encode()
                    if webhook.allow_skip and webhook.last_body is not None and self._same_payload(
                        webhook.last_body, body
                    ):
                        continue
                    webhook.last_body = body
                    self.events[event_id] = WebhookEventRecord(
                        event_id, webhook.legacy_id, self._sequence, change.event_name, change.object_id, body
                    )
                    created += 1
        return created

    @staticmethod
    def _same_payload(previous: bytes, body: bytes) -> bool:
        return json.loads(previous)["payload"] == json.loads(body)["payload"]

    def pending(self) -> list[WebhookEventRecord]:
        with self._lock:
            return [e for e in self.events.values() if e.state in ("unsent", "retrying")]

    def deliver_due(self) -> int:
        """Attempt every event that is due now (once, or twice for chaos duplicates); returns attempts made."""
        now = time.monotonic()
        with self._lock:
            due = [e for e in self.events.values() if e.state in ("unsent", "retrying") and e.due <= now]
            if self.out_of_order:
                self._rng.shuffle(due)
            plan = []
            for event in due:
                plan.append(event)
                if self.duplicate_rate and self._rng.random() < self.duplicate_rate:
                    plan.append(event)
        for event in plan:
            self._attempt(event)
        return len(plan)

    def deliver(self, settle: bool = True, timeout: float = 30.0) -> int:
        """Deliver what is due; with `settle`, keep going (sleeping through time-scaled backoff) until
        nothing is pending or `timeout` passes. Returns attempts made."""
        attempts = self.deliver_due()
        deadline = time.monotonic() + timeout
        while settle and time.monotonic() < deadline:
            pending = self.pending()
            if not pending:
                break
            time.sleep(max(0.0, min(e.due for e in pending) - time.monotonic()))
            attempts += self.deliver_due()
        return attempts

    def _attempt(self, event: WebhookEventRecord) -> None:
        webhook = self.webhooks[event.webhook_id]
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Marketplacer Client/1.0.0",
            "Idempotency-Key": base64.b64encode(f"{self.vertical}:{event.sequence}".encode()).decode(),
            "Marketplacer-Sequence": str(event.sequence),
            "Marketplacer-Vertical": self.vertical,
            **webhook.headers,
        }
        if webhook.hmac_key:
            headers["Marketplacer-Hmac-256"] = sign(event.body, webhook.hmac_key)
        try:
            status: int | None = self._http.post(webhook.url, content=event.body, headers=headers).status_code
        except httpx.HTTPError as exc:
            logger.info("webhook %s event %s: %s", webhook.legacy_id, event.legacy_id, type(exc).__name__)
            status = None
        with self._lock:
            self.deliveries.append(Delivery(event.legacy_id, webhook.legacy_id, event.sequence, status))
            if status is not None:
                event.responses.append(status)
            if status is not None and 200 <= status < 300:
                event.state = "sent"
            elif status is None or status >= 500 or status == 429:
                if status == 429 and webhook.concurrent_send_limit > 1:
                    webhook.concurrent_send_limit -= 1
                if event.state == "sent":
                    return
                event.retries += 1
                if event.retries > webhook.max_retries:
                    event.state = "failed"
                else:
                    event.state = "retrying"
                    event.due = time.monotonic() + retry_delay_seconds(event.retries, self._rng) * self.time_scale
            else:
                event.state = "failed"
                webhook.enabled = False
                logger.info("webhook %s disabled after a %s", webhook.legacy_id, status)

    def close(self) -> None:
        self._http.close()
