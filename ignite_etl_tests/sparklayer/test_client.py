"""Contract tests: the client against the SparkLayer sandbox over real HTTP."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from pydantic import SecretStr, ValidationError

from ignite_etl.sparklayer import (
    AuthenticationFailed,
    InvalidRequest,
    RecordRejected,
    RetryPolicy,
    StoredToken,
    TransientError,
)
from ignite_etl.sparklayer import endpoints as ep
from ignite_etl.sparklayer.models import (
    Address,
    Customer,
    FullSyncLog,
    LineItem,
    Package,
    PartialSyncLog,
    PriceBreak,
    PriceList,
    Product,
    ProductChanges,
    Purchase,
    PurchaseIdentifiers,
    SkuPricing,
    StockLevel,
    StockLocation,
    SyncLogError,
    Variant,
)
from ignite_etl_tests.sparklayer.conftest import CLIENT_SECRET, SITE


def run(client, operation):
    return client.run(operation)


def customer(n: int, **changes) -> Customer:
    fields = dict(external_id=f"c{n}", email=f"c{n}@example.com", first_name="Ada", last_name=f"Buyer{n}")
    fields.update(changes)
    return Customer(**fields)


def statuses(sandbox, path_contains: str, method: str | None = None) -> list[int]:
    return [e.status for e in sandbox.journal(path_contains=path_contains) if method in (None, e.method)]


def location(n: int):
    """A simple single-request write, for the tests of auth, retries and limits."""
    return lambda c: c.create_stock_location(StockLocation(name=f"Location {n}", external_id=f"loc-{n}"))


# --- auth ---------------------------------------------------------------------------------------


def test_token_is_fetched_once_and_reused_across_runs(make_client, sandbox):
    run(make_client(), location(1))
    run(make_client(), location(2))

    assert len(sandbox.journal(path_contains="/api/auth/token")) == 1
    assert statuses(sandbox, "/stock-locations") == [201, 201]


def test_token_is_replaced_a_minute_before_it_expires(make_client, sandbox, clock):
    client = make_client()
    run(client, location(1))
    clock.advance(3600 - 59)
    run(client, location(2))

    assert len(sandbox.journal(path_contains="/api/auth/token")) == 2
    assert 401 not in statuses(sandbox, "/api/")


def test_refused_token_is_replaced_once_and_the_call_retried(make_client, sandbox, clock, token_store):
    token_store.save(StoredToken(SecretStr("revoked-token"), clock() + timedelta(hours=1)))

    result = run(make_client(), location(1))

    assert result.ok
    assert [(e.path.rsplit("/", 1)[-1], e.status) for e in sandbox.journal()] == [
        ("stock-locations", 401), ("token", 200), ("stock-locations", 201)]
    assert token_store.load().access_token.get_secret_value() != "revoked-token"


def test_a_second_401_raises_authentication_failed(make_client, sandbox):
    sandbox.fail_next(2, 401, path_contains="/stock-locations")

    with pytest.raises(AuthenticationFailed):
        run(make_client(), location(1))
    assert statuses(sandbox, "/stock-locations") == [401, 401]


def test_wrong_secret_raises_authentication_failed_without_the_secret(make_client):
    with pytest.raises(AuthenticationFailed) as raised:
        run(make_client(client_secret="wrong-secret-value"), location(1))
    assert "wrong-secret-value" not in str(raised.value)
    assert "Settings > API" in str(raised.value)


def test_secrets_stay_out_of_reprs_logs_errors_and_the_journal(make_client, sandbox, token_store, caplog):
    caplog.set_level(logging.DEBUG)
    client = make_client()
    sandbox.fail_next(1, 503, path_contains="/customers/")
    run(client, lambda c: c.upsert_customer(customer(1)))
    token = token_store.load().access_token.get_secret_value()

    visible = repr(client) + repr(token_store) + caplog.text + repr(sandbox.journal()) + repr(client._transport)
    assert CLIENT_SECRET not in visible
    assert token not in visible


# --- retries and rate limits --------------------------------------------------------------------


def test_server_errors_are_retried_then_succeed(make_client, sandbox):
    sandbox.fail_next(2, 503, path_contains="/stock-locations")

    result = run(make_client(), location(1))

    assert result.ok and result.status_code == 201
    assert statuses(sandbox, "/stock-locations") == [503, 503, 201]


def test_server_errors_past_the_retry_budget_raise_transient_error(make_client, sandbox):
    sandbox.fail_next(10, 500, path_contains="/customers/")

    with pytest.raises(TransientError):
        run(make_client(), lambda c: c.upsert_customers([customer(1)]))
    assert statuses(sandbox, "/customers/") == [500, 500, 500, 500]


def test_retry_after_is_honoured_and_does_not_count_as_a_failure(make_client, sandbox):
    sandbox.fail_next(1, 429, path_contains="/stock-locations")
    client = make_client(retry=RetryPolicy(max_attempts=1, base_delay=0.001))

    result = run(client, location(1))

    limited, written = sandbox.journal(path_contains="/stock-locations")
    assert result.ok
    assert (limited.status, written.status) == (429, 201)
    assert written.arrived - limited.arrived >= 0.95  # the sandbox asked for Retry-After: 1


def test_concurrent_update_on_pricing_is_retried(make_client, sandbox):
    async def scenario(c):
        await c.create_price_list(PriceList(slug="marketplacer-price", name="Marketplacer Price", currency_code="AUD"))
        sandbox.fail_next(1, 409, path_contains="/pricing")
        return await c.update_pricing("marketplacer-price", [SkuPricing(sku="A", pricing=[PriceBreak(quantity=1, price="9.5")])])

    results = run(make_client(), scenario)

    assert [r.ok for r in results] == [True]
    assert statuses(sandbox, "/pricing") == [409, 204]
    assert sandbox.state("test", SITE)["pricing"]["marketplacer-price"]["A"] == [{"quantity": 1, "price": 9.5}]


def test_client_rate_limiter_keeps_under_the_sandbox_limit(make_client, sandbox):
    sandbox.set_rate_limit(10, window_seconds=1.0)
    client = make_client(requests_per_second=5)

    results = run(client, lambda c: c.upsert_customers([customer(n) for n in range(11)]))

    assert all(r.ok for r in results)
    assert 429 not in statuses(sandbox, "/api/")


# --- per-record errors, batching and concurrency -------------------------------------------------


def test_rejected_customer_becomes_a_record_error_and_the_others_are_written(make_client, sandbox):
    sandbox.reject_record("c2", "line 1 is empty")

    results = run(make_client(), lambda c: c.upsert_customers([customer(1), customer(2), customer(3)]))

    assert [(r.external_id, r.ok, r.status_code) for r in results] == [("c1", True, 201), ("c2", False, 400), ("c3", True, 201)]
    assert "line 1 is empty" in results[1].error_message
    assert sorted(sandbox.state("test", SITE)["customers"]) == ["c1", "c3"]
    assert statuses(sandbox, "/platform/c2", "PUT") == [400]  # a permanent 4xx is not retried


def test_a_conflict_sparklayer_keeps_refusing_is_a_record_error_after_one_fresh_look(make_client, sandbox):
    shared = Address(external_id="addr-1", address_line1="1 Main St", country_code="AU")

    results = run(make_client(), lambda c: c.upsert_customers([customer(1, addresses=[shared]),
                                                                 customer(2, addresses=[shared])]))

    assert [r.ok for r in results] == [True, False]
    assert results[1].status_code == 409
    assert statuses(sandbox, "/platform/c2", "PUT") == [409, 409]


def test_stock_goes_in_batches_of_500_and_a_bad_item_fails_alone(make_client, sandbox, locations):
    levels = [StockLevel(sku=f"SKU-{n}", stock_location_external_id="default", stock_level=n) for n in range(1200)]
    levels[700] = StockLevel(sku="SKU-700", stock_location_external_id="nowhere", stock_level=1)

    results = run(make_client(), lambda c: c.batch_update_stock(levels))

    assert [r.external_id for r in results if not r.ok] == ["SKU-700@nowhere"]
    assert "Unknown stock location" in results[700].error_message
    assert len(sandbox.state("test", SITE)["stock"]) == 1199
    assert max(e.item_count for e in sandbox.journal(path_contains="batch-update-stock")) == 500


def test_a_repeated_sku_and_location_never_share_a_batch_and_the_last_value_wins(make_client, sandbox, locations):
    levels = [
        StockLevel(sku="A", stock_location_external_id="default", stock_level=1),
        StockLevel(sku="B", stock_location_external_id="default", stock_level=2),
        StockLevel(sku="A", stock_location_external_id="default", stock_level=3),
        StockLevel(sku="A", stock_location_external_id="warehouse", stock_level=4),
    ]

    results = run(make_client(), lambda c: c.batch_update_stock(levels))

    assert all(r.ok for r in results)
    stock = {(s["sku"], s["stock_location_external_id"]): s["stock_level"] for s in sandbox.state("test", SITE)["stock"]}
    assert stock == {("A", "default"): 3, ("B", "default"): 2, ("A", "warehouse"): 4}
    assert [e.item_count for e in sandbox.journal(path_contains="batch-update-stock")] == [3, 1]


def test_a_refused_sku_in_a_pricing_batch_fails_alone(make_client, sandbox):
    sandbox.reject_record("B", "price below cost")
    items = [SkuPricing(sku=s, pricing=[PriceBreak(quantity=1, price="5")]) for s in "ABC"]

    async def scenario(c):
        await c.create_price_list(PriceList(slug="marketplacer-price", name="Marketplacer Price", currency_code="AUD"))
        return await c.update_pricing("marketplacer-price", items)

    results = run(make_client(), scenario)

    assert [(r.external_id, r.ok) for r in results] == [("A", True), ("B", False), ("C", True)]
    assert "price below cost" in results[1].error_message
    assert sorted(sandbox.state("test", SITE)["pricing"]["marketplacer-price"]) == ["A", "C"]


def test_pricing_for_an_unknown_price_list_fails_every_record(make_client):
    items = [SkuPricing(sku=s, pricing=[PriceBreak(quantity=1, price="5")]) for s in "AB"]

    results = run(make_client(), lambda c: c.update_pricing("missing", items))

    assert [(r.ok, r.status_code) for r in results] == [(False, 404), (False, 404)]


def test_per_record_calls_stay_within_the_concurrency_bound(make_client, sandbox):
    sandbox.set_faults(latency_seconds=0.03)

    results = run(make_client(concurrency=3), lambda c: c.upsert_customers([customer(n) for n in range(15)]))

    assert all(r.ok for r in results)
    in_flight = [e.in_flight for e in sandbox.journal(path_contains="/customers/")]
    assert max(in_flight) <= 3
    assert max(in_flight) >= 2


# --- operations ---------------------------------------------------------------------------------


def test_an_existing_price_list_slug_counts_as_created(make_client, sandbox):
    price_list = PriceList(slug="marketplacer-price", name="Marketplacer Price", currency_code="AUD")

    async def create_twice(c):
        return await c.create_price_list(price_list), await c.create_price_list(price_list)

    (first, first_existing), (second, second_existing) = run(make_client(), create_twice)

    assert first.ok and second.ok
    assert first_existing is None
    assert second_existing is not None and second_existing["currency_code"] == "AUD"
    assert statuses(sandbox, "/api/v1/price-lists") == [201, 400]
    assert list(sandbox.state("test", SITE)["price_lists"]) == ["marketplacer-price"]


def test_products_are_created_updated_and_discontinued(make_client, sandbox):
    product = Product(external_id="p1", title="Tent", slug="tent", variants=[Variant(external_id="v1", sku="T-1", weight_in_grams=1200)])

    async def scenario(c):
        created = await c.create_product(product)
        await c.update_product("p1", ProductChanges(title="Big Tent"))
        discontinued = await c.discontinue_variants(["v1", "v-unknown"])
        return created, discontinued

    created, discontinued = run(make_client(), scenario)

    state = sandbox.state("test", SITE)
    assert created.ok and created.sparklayer_id.startswith("pp_")
    assert state["products"]["p1"]["title"] == "Big Tent"
    assert state["variants"]["v1"]["status"] == "discontinued"
    assert [(r.ok, r.status_code) for r in discontinued] == [(True, 200), (False, 404)]


def test_customer_upsert_changes_what_it_states_and_keeps_what_the_merchant_set(make_client, sandbox):
    ours = Address(external_id="a1", address_line1="1 Main St", country_code="AU")
    moved = Address(external_id="a1", address_line1="2 New St", country_code="AU")

    async def scenario(c):
        created = await c.upsert_customer(customer(1, company_name="Ada Co", addresses=[ours]))
        # the merchant, in the SparkLayer dashboard: a group, price lists, credit, an address of their own
        stored = await c.get_customer("platform", "c1")
        await c._transport.call(ep.UPSERT_CUSTOMER, path_params={"lookup_by": "platform", "identifier": "c1"}, body={
            **{k: v for k, v in stored.items() if k not in ("id", "created_at", "updated_at")},
            "group": "trade", "price_lists": ["vip"], "payment_on_account": {"credit_limit": 500},
            "addresses": stored["addresses"] + [{"address_line1": "Warehouse 9", "country_code": "AU"}]})
        updated = await c.upsert_customer(customer(1, last_name="Lovelace", addresses=[moved]))
        return created, updated

    created, updated = run(make_client(), scenario)

    stored = sandbox.state("test", SITE)["customers"]["c1"]
    assert (created.status_code, updated.status_code) == (201, 200)
    assert created.sparklayer_id == updated.sparklayer_id
    assert (stored["last_name"], stored["company_name"], stored["group"], stored["price_lists"]) == (
        "Lovelace", "Ada Co", "trade", ["vip"])
    assert stored["payment_on_account"] == {"credit_limit": 500.0}
    assert [a["address_line1"] for a in stored["addresses"]] == ["2 New St", "Warehouse 9"]


def test_a_customer_the_merchant_created_with_the_same_email_is_updated_not_duplicated(make_client, sandbox):
    async def scenario(c):
        await c._transport.call(ep.UPSERT_CUSTOMER, path_params={"lookup_by": "email", "identifier": "Ada@Example.com"},
                                body={"email": "Ada@Example.com", "first_name": "Ada", "last_name": "L", "price_lists": ["vip"]})
        return await c.upsert_customer(customer(1, email="ada@example.com", first_name="Augusta"))

    result = run(make_client(), scenario)

    (stored,) = sandbox.state("test", SITE)["customers"].values()
    assert result.ok and result.status_code == 200
    assert (stored["external_id"], stored["first_name"], stored["price_lists"]) == ("c1", "Augusta", ["vip"])
    assert statuses(sandbox, "/customers/", "PUT")[-1] == 200


def test_deleting_a_customer_that_is_gone_counts_as_deleted(make_client, sandbox):
    async def scenario(c):
        await c.upsert_customer(customer(1))
        return await c.delete_customers(["c1", "c1"])

    results = run(make_client(), scenario)

    assert [(r.ok, r.status_code) for r in results] in ([(True, 204), (True, 404)], [(True, 404), (True, 204)])
    assert sandbox.state("test", SITE)["customers"] == {}


def test_base_currency_is_set_and_a_refused_settings_call_raises(make_client, sandbox):
    run(make_client(), lambda c: c.set_base_currency("AUD"))
    assert sandbox.state("test", SITE)["settings"]["baseCurrency"] == "AUD"

    sandbox.add_site("test", "dashboard-keys", "id2", "secret2", settings_api_allowed=False)
    client = make_client(site_id="dashboard-keys", client_id="id2", client_secret="secret2", token_store=None)
    with pytest.raises(RecordRejected) as raised:
        run(client, lambda c: c.set_base_currency("AUD"))
    assert raised.value.status_code == 403
    assert "contact support" in raised.value.message


def test_a_purchase_is_replaced_whole_and_found_by_its_cart_id(make_client, sandbox):
    def order(*packages):
        return Purchase(
            purchase_identifiers=PurchaseIdentifiers(sparklayer="cart-1", platform="inv-9"),
            currency_code="AUD",
            packages=list(packages),
        )

    items = [LineItem(sku="A", quantity=2, price="10")]
    first = run(make_client(), lambda c: c.put_purchase(order(Package(type="processing", line_items=items))))
    second = run(make_client(), lambda c: c.put_purchase(order(Package(type="shipment", line_items=items))))

    purchases = list(sandbox.state("test", SITE)["purchases"].values())
    assert (first.status_code, second.status_code) == (201, 200)
    assert len(purchases) == 1
    assert [p["type"] for p in purchases[0]["packages"]] == ["shipment"]
    assert statuses(sandbox, "/purchases/sparklayer/cart-1") == [201, 200]


def test_sync_log_full_then_partial_then_delete(make_client, sandbox, clock):
    started = clock()

    async def scenario(c):
        await c.put_sync_log("marketplacer", "products", FullSyncLog(
            started_full_sync=started, errors=[SyncLogError(external_id="variant:1", message="no SKU")]))
        await c.patch_sync_log("marketplacer", "products", PartialSyncLog(
            last_partial_sync=started, resolved_external_ids=["variant:1"],
            errors=[SyncLogError(external_id="variant:2", message="no SKU", resolution="Add a SKU")]))
        after_patch = await c.get_sync_log("marketplacer", "products", with_errors=True)
        await c.delete_sync_logs()
        return after_patch, await c.get_sync_log("marketplacer", "products")

    after_patch, after_delete = run(make_client(), scenario)

    assert [e["external_id"] for e in after_patch.errors] == ["variant:2"]
    assert after_patch.started_full_sync == started and after_patch.last_partial_sync == started
    assert after_delete is None


def test_a_sync_log_with_repeated_or_too_many_errors_is_not_sent(make_client, sandbox):
    with pytest.raises(ValidationError):
        FullSyncLog(errors=[SyncLogError(external_id="x", message="m")] * 2)
    too_many = FullSyncLog.model_construct(errors=[SyncLogError(external_id=f"e{n}", message="m") for n in range(5001)])

    with pytest.raises(InvalidRequest):
        run(make_client(), lambda c: c.put_sync_log("marketplacer", "products", too_many))
    assert sandbox.journal(path_contains="sync-log") == []


def test_an_unreachable_host_is_retried_then_raises_transient_error(make_client):
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]

    with pytest.raises(TransientError, match="could not be reached"):
        run(make_client(base_url=f"http://127.0.0.1:{closed_port}/test"), lambda c: c.upsert_customer(customer(1)))


def test_merging_keeps_the_merchants_fields_and_addresses_and_replaces_the_platforms():
    from ignite_etl.sparklayer.models import merge_customer

    stored = {"id": "u1", "external_id": "c1", "email": "a@b.co", "first_name": "A", "last_name": "B",
              "group": "trade", "price_lists": ["vip"], "created_at": "2025-01-01", "legacy_id": "cu_1",
              "addresses": [{"id": "ca_1", "external_id": "c1:shipping", "address_line1": "Old St", "country_code": "AU"},
                            {"id": "ca_2", "address_line1": "Dock 4", "country_code": "AU", "created_at": "x"}]}
    ours = {"external_id": "c1", "email": "a@b.co", "first_name": "Ann", "last_name": "B",
            "addresses": [{"external_id": "c1:shipping", "address_line1": "New St", "country_code": "AU"}]}

    merged = merge_customer(ours, stored)

    assert merged == {"id": "u1", "external_id": "c1", "email": "a@b.co", "first_name": "Ann", "last_name": "B",
                      "group": "trade", "price_lists": ["vip"],
                      "addresses": [{"external_id": "c1:shipping", "address_line1": "New St", "country_code": "AU"},
                                    {"address_line1": "Dock 4", "country_code": "AU"}]}
    assert merge_customer(ours, None) == ours
