import pytest
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

from ignite_etl.platforms import WebhookRejected
from ignite_etl.platforms.marketplacer import MarketplacerMutationError
from ignite_etl.platforms.marketplacer.webhooks import verify_webhook
from ignite_etl.sandbox.marketplacer.catalogue import global_id
from ignite_etl.sandbox.server import BackgroundServer


class Receiver:
    """A webhook endpoint that records raw deliveries and answers with scripted statuses."""

    def __init__(self):
        self.deliveries: list[tuple[dict, bytes]] = []
        self.statuses: list[int] = []

    async def receive(self, request):
        self.deliveries.append((dict(request.headers), await request.body()))
        return Response(status_code=self.statuses.pop(0) if self.statuses else 200)

    @property
    def app(self):
        return Starlette(routes=[Route("/hook", self.receive, methods=["POST"])])


@pytest.fixture
def receiver():
    hook = Receiver()
    with BackgroundServer(hook.app) as running:
        hook.url = f"{running.url}/hook"
        yield hook


@pytest.fixture
def registered(sandbox, connect, receiver):
    sandbox.generate(5, seed=1, broken_rate=0)
    return connect().register_webhooks(receiver.url).key


def test_register_webhooks_creates_one_hook_per_synced_type_with_one_fresh_key(sandbox, connect, receiver):
    registration = connect().register_webhooks(receiver.url)

    hooks = list(sandbox.webhooks.webhooks.values())
    assert sorted(h.type for h in hooks) == ["ADVERT", "INVOICE", "REFUND_REQUEST", "SHIPMENT", "VARIANT"]
    assert {h.hmac_key for h in hooks} == {registration.key} and len(registration.key) >= 32
    assert all(h.url == receiver.url and h.enabled for h in hooks)
    assert sorted(registration.state["ids"]) == sorted(global_id("Webhook", h.legacy_id) for h in hooks)
    assert registration.key not in str(registration.state)


def test_a_registration_that_still_stands_is_kept_as_it_is(sandbox, connect, receiver):
    platform = connect()
    first = platform.register_webhooks(receiver.url)

    again = platform.register_webhooks(receiver.url, first)

    assert again == first
    assert len(sandbox.webhooks.webhooks) == 5


def test_a_new_api_key_registers_again_and_disables_the_webhooks_made_before(sandbox, connect, receiver):
    sandbox.set_api_keys("old-key", "new-key")
    first = connect(api_key="old-key").register_webhooks(receiver.url)

    second = connect(api_key="new-key").register_webhooks(receiver.url, first)

    hooks = {global_id("Webhook", h.legacy_id): h for h in sandbox.webhooks.webhooks.values()}
    assert second.key != first.key
    assert {hooks[i].enabled for i in first.state["ids"]} == {False}
    assert {hooks[i].enabled for i in second.state["ids"]} == {True}
    assert sorted(second.state["retired"]) == sorted(first.state["ids"])


def test_webhooks_left_at_our_url_by_a_lost_registration_are_disabled_too(sandbox, connect, receiver):
    platform = connect()
    lost = platform.register_webhooks(receiver.url)  # e.g. a crash before its key was stored

    fresh = platform.register_webhooks(receiver.url)

    hooks = {global_id("Webhook", h.legacy_id): h for h in sandbox.webhooks.webhooks.values()}
    assert {hooks[i].enabled for i in lost.state["ids"]} == {False}
    assert {hooks[i].enabled for i in fresh.state["ids"]} == {True}


def test_register_webhooks_surfaces_mutation_errors(connect):
    with pytest.raises(MarketplacerMutationError) as raised:
        connect().register_webhooks("not-a-url")

    assert "url: is not a valid URL" in str(raised.value)


def test_a_price_change_delivers_signed_variant_and_advert_events(sandbox, registered, receiver):
    variant_id = sandbox.catalogue.adverts[2].variant_ids[0]

    sandbox.set_price(variant_id, "12.00")
    sandbox.deliver_webhooks()

    events = [verify_webhook(headers, body, registered) for headers, body in receiver.deliveries]
    assert [(e.object_type, e.object_id, e.event_name) for e in events] == [
        ("variant", global_id("Variant", variant_id), "update"),
        ("product", global_id("Advert", 2), "update"),
    ]
    assert [e.sequence for e in events] == [1, 2]
    assert events[0].idempotency_key != events[1].idempotency_key
    assert receiver.deliveries[0][0]["user-agent"] == "Marketplacer Client/1.0.0"


def test_verification_rejects_a_tampered_body(sandbox, registered, receiver):
    sandbox.set_title(1, "New title")
    sandbox.deliver_webhooks()
    headers, body = receiver.deliveries[0]

    with pytest.raises(WebhookRejected):
        verify_webhook(headers, body.replace(b"QWR2", b"QXR2"), registered)


def test_verification_rejects_the_wrong_key(sandbox, registered, receiver):
    sandbox.set_title(1, "New title")
    sandbox.deliver_webhooks()
    headers, body = receiver.deliveries[0]

    with pytest.raises(WebhookRejected):
        verify_webhook(headers, body, registered + "x")


def test_verification_rejects_a_missing_signature_before_reading_the_body():
    with pytest.raises(WebhookRejected) as raised:
        verify_webhook({"Marketplacer-Sequence": "1"}, b"not json at all", "key")

    assert "Marketplacer-Hmac-256" in str(raised.value)


def test_a_deleted_advert_is_announced_as_destroy(sandbox, registered, receiver):
    sandbox.delete_advert(3)
    sandbox.deliver_webhooks()

    event = verify_webhook(*receiver.deliveries[0], registered)
    assert (event.event_name, event.platform_type, event.object_id) == ("destroy", "DeletedAdvert", global_id("Advert", 3))


def test_server_errors_are_retried_with_backoff_until_delivered(sandbox, registered, receiver):
    receiver.statuses = [503, 500, 429]

    sandbox.set_title(1, "Retry me")
    sandbox.deliver_webhooks()

    assert [d.status for d in sandbox.webhooks.deliveries] == [503, 500, 429, 200]
    assert {d.sequence for d in sandbox.webhooks.deliveries} == {1}
    assert [e.state for e in sandbox.webhooks.events.values()] == ["sent"]


def test_another_4xx_fails_the_event_and_disables_the_webhook(sandbox, registered, receiver):
    receiver.statuses = [410]

    sandbox.set_title(1, "Gone")
    sandbox.deliver_webhooks()
    sandbox.set_title(1, "Again")
    sandbox.deliver_webhooks()

    advert_hook = next(h for h in sandbox.webhooks.webhooks.values() if h.type == "ADVERT")
    assert advert_hook.enabled is False
    assert len(receiver.deliveries) == 1
    assert [e.state for e in sandbox.webhooks.events.values()] == ["failed"]


def test_chaos_delivers_duplicates_and_out_of_order(sandbox, registered, receiver):
    sandbox.set_webhook_chaos(duplicate_rate=1.0, out_of_order=True)
    for advert_id in (1, 2, 3, 4, 5):
        sandbox.set_title(advert_id, f"Title {advert_id}")

    sandbox.deliver_webhooks()

    sequences = [int(h["marketplacer-sequence"]) for h, _ in receiver.deliveries]
    assert len(sequences) == 10 and sorted(set(sequences)) == [1, 2, 3, 4, 5]
    assert sequences != sorted(sequences)
    keys = [verify_webhook(h, b, registered).idempotency_key for h, b in receiver.deliveries]
    assert len(set(keys)) == 5
