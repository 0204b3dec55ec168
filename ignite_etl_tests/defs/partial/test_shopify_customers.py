"""Shopify's B2B customers reach SparkLayer as its own connector sends them (tagged `b2b` or `b2b-<group>`, or
with `sparklayer` metafields), through the full sync and through their webhooks; a customer who stops
qualifying is removed, and what the merchant set in SparkLayer that Shopify does not own is kept."""

from __future__ import annotations

from decimal import Decimal

from ignite_etl_tests.defs.sync.conftest import SITE_ENV, SITE_ID

SITE = (SITE_ENV, SITE_ID)


def test_b2b_customers_are_synced_kept_and_removed_when_they_stop_qualifying(shopify_webhook_store):
    env = shopify_webhook_store
    shop = env.store.driver.sandbox
    ada = shop.add_customer("ada@example.com", first_name="Ada", last_name="Lovelace", tags=["b2b"], metafields={
        "group": ("single_line_text_field", "trade"), "price_lists": ("json", '["trade-prices"]'),
        "discount_percentage": ("number_decimal", "5"), "company_name": ("single_line_text_field", "Engines Ltd")})
    bob = shop.add_customer("bob@example.com", first_name="Bob", last_name="Babbage", tags=["b2b-wholesale"],
                            tax_exempt=True, addresses=[{"address1": "2 Mill Lane", "city": "Leeds", "zip": "LS1",
                                                         "province_code": "WYK", "country_code": "GB",
                                                         "company": "Mills & Co"}])
    carol = shop.add_customer("carol@example.com", first_name="Carol", last_name="Retail", tags=["newsletter"])
    env.store.driver.forget_webhooks()
    for group in ("trade", "wholesale"):  # groups are the merchant's, made in SparkLayer
        env.sparklayer.add_customer_group(*SITE, group)

    assert env.store.sync().success

    customers = env.sparklayer.state(*SITE)["customers"]
    assert set(customers) == {str(ada), str(bob)}  # Carol is a retail customer
    assert (customers[str(ada)]["group"], customers[str(ada)]["price_lists"]) == ("trade", ["trade-prices"])
    assert Decimal(str(customers[str(ada)]["discount_percentage"])) == 5
    assert customers[str(ada)]["company_name"] == "Engines Ltd" and customers[str(ada)]["tax_exempt"] is False
    assert (customers[str(bob)]["group"], customers[str(bob)]["tax_exempt"]) == ("wholesale", True)
    assert customers[str(bob)]["company_name"] == "Mills & Co"
    [address] = customers[str(bob)]["addresses"]
    assert (address["address_line1"], address["region_code"], address["country_code"]) == ("2 Mill Lane", "WYK", "GB")

    # the merchant gives Bob a price list in SparkLayer (Shopify has none for him): later syncs keep it
    env.sparklayer.edit_customer(*SITE, str(bob), price_lists=["wholesale-prices"])
    shop.update_customer(bob, first_name="Robert")
    # Ada stops being a B2B customer; Carol becomes one
    shop.update_customer(ada, tags=[], metafields={k: None for k in ("group", "price_lists", "discount_percentage",
                                                                     "company_name")})
    shop.update_customer(carol, tags=["newsletter", "b2b"])
    env.deliver()
    assert env.partial_sync().success

    customers = env.sparklayer.state(*SITE)["customers"]
    assert set(customers) == {str(bob), str(carol)}
    assert customers[str(bob)]["first_name"] == "Robert" and customers[str(bob)]["price_lists"] == ["wholesale-prices"]
    assert {r["entity_type"] for r in env.queue()} == {"customer"}

    mark = env.store.journal_mark()
    assert env.store.sync().success
    assert env.store.data_writes(mark) == []  # the next full sync has nothing to write



def test_a_customer_whose_group_sparklayer_lacks_tells_the_merchant_to_create_it(shopify_webhook_store):
    env = shopify_webhook_store
    shop = env.store.driver.sandbox
    dora = shop.add_customer("dora@example.com", first_name="Dora", last_name="Vance", tags=["b2b-vip"])
    env.store.driver.forget_webhooks()

    assert env.store.sync().success  # the customer is refused, the sync goes on

    sync_logs = env.sparklayer.state(*SITE)["sync_logs"]
    [error] = [e for log in sync_logs.values() for key, e in log["errors"].items() if key == f"customer:{dora}"]
    assert "create it in the SparkLayer Dashboard" in error["resolution"] and "'vip'" in error["resolution"]

    env.sparklayer.add_customer_group(*SITE, "vip")  # the merchant does so
    assert env.store.sync().success

    assert env.sparklayer.state(*SITE)["customers"][str(dora)]["group"] == "vip"
    sync_logs = env.sparklayer.state(*SITE)["sync_logs"]
    assert not [key for log in sync_logs.values() for key in log["errors"] if key == f"customer:{dora}"]
