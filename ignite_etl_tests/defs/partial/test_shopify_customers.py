"""Shopify's B2B customers reach SparkLayer as its own connector sends them (tagged `b2b` or `b2b-<group>`, or
with `sparklayer` metafields), through the full sync and through their webhooks; a customer who stops
qualifying is removed, and what the merchant set in SparkLayer that Shopify does not own is kept."""

from __future__ import annotations

from decimal import Decimal

import httpx

from ignite_etl_tests.defs.partial.conftest import INGRESS_TOKEN
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


def test_a_customer_sparklayer_creates_through_ignite_exists_on_shopify_and_syncs_back_once(shopify_webhook_store):
    env = shopify_webhook_store
    shop = env.store.driver.sandbox
    env.sparklayer.add_customer_group(*SITE, "trade")
    # a buyer registers on SparkLayer's storefront; SparkLayer asks us to create them on Shopify
    sparklayer_id = env.sparklayer.register_customer(*SITE, "erin@example.com", "Erin", "Eve", group="trade")
    ingress = httpx.Client(base_url=env.ingress_url, headers={"Authorization": f"Bearer {INGRESS_TOKEN}"})

    created = ingress.put(f"/v1/{SITE_ENV}/{SITE_ID}/customers", json={
        "email": "erin@example.com", "first_name": "Erin", "last_name": "Eve", "group": "trade",
        "company_name": "Eve & Co", "price_lists": ["trade-prices"], "role": "main"})

    assert created.status_code == 201
    customer_id = created.json()["customer_external_id"]
    erin = shop.shop.customers[int(customer_id)]
    assert "b2b" in erin.tags and erin.metafields["company_name"].value == "Eve & Co"

    env.deliver()  # Shopify's customers/create webhook
    assert env.partial_sync().success
    customers = env.sparklayer.state(*SITE)["customers"]
    [stored] = [c for c in customers.values() if c["email"] == "erin@example.com"]
    assert (stored["id"], stored["external_id"]) == (sparklayer_id, customer_id)  # the same customer, now linked
    assert (stored["group"], stored["company_name"], stored["price_lists"]) == ("trade", "Eve & Co", ["trade-prices"])

    # SparkLayer calls again (the buyer changed their name): the same Shopify customer, still one in SparkLayer
    again = ingress.put(f"/v1/{SITE_ENV}/{SITE_ID}/customers", json={
        "email": "erin@example.com", "first_name": "Erin", "last_name": "Evans"})
    assert again.json() == {"customer_external_id": customer_id} and len(shop.shop.customers) == 1
    env.deliver()
    assert env.partial_sync().success
    customers = env.sparklayer.state(*SITE)["customers"]
    assert [c["last_name"] for c in customers.values() if c["email"] == "erin@example.com"] == ["Evans"]

    # a signed-in Shopify customer's app proxy request is their session
    verified = ingress.post(f"/v1/{SITE_ENV}/{SITE_ID}/authentication/verify",
                            json={"token": shop.app_proxy_query(int(customer_id))})
    assert verified.json() == {"customer_external_id": customer_id}
    forged = ingress.post(f"/v1/{SITE_ENV}/{SITE_ID}/authentication/verify",
                          json={"token": shop.app_proxy_query(int(customer_id), secret="guessed")})
    assert forged.status_code == 401

    mark = env.store.journal_mark()
    assert env.store.sync().success
    assert env.store.data_writes(mark) == []  # the next full sync has nothing to write



def test_a_customer_metafield_that_does_not_parse_is_a_sync_log_error_until_it_is_mended(shopify_webhook_store):
    env = shopify_webhook_store
    shop = env.store.driver.sandbox
    eve = shop.add_customer("eve@example.com", first_name="Eve", last_name="Ng", tags=["b2b"], metafields={
        "discount_percentage": ("number_decimal", "150"), "company_name": ("single_line_text_field", "Ng Ltd")})
    env.store.driver.forget_webhooks()
    key = f"customer:{eve}:discount_percentage"

    assert env.store.sync().success

    assert env.sparklayer.state(*SITE)["customers"][str(eve)]["company_name"] == "Ng Ltd"  # the rest is sent
    errors = {e["external_id"]: e for e in env.store.sync_log_errors("customers")}
    assert "is not a number from 0 to 100" in errors[key]["message"]

    shop.update_customer(eve, metafields={"discount_percentage": ("number_decimal", "15")})
    env.deliver()
    assert env.partial_sync().success

    assert Decimal(str(env.sparklayer.state(*SITE)["customers"][str(eve)]["discount_percentage"])) == 15
    assert key not in {e["external_id"] for e in env.store.sync_log_errors("customers")}


def test_a_company_with_two_locations_and_contacts_reaches_sparklayer_as_its_b2b_customers(shopify_webhook_store):
    env = shopify_webhook_store
    shop = env.store.driver.sandbox
    ada = shop.add_customer("ada@mills.example", first_name="Ada", last_name="Mill")
    bob = shop.add_customer("bob@mills.example", first_name="Bob", last_name="Mill")
    trade = shop.add_catalog("Trade", decrease_percent=10)  # to be published to the York location
    env.store.driver.forget_webhooks()
    assert env.store.sync().success
    assert env.sparklayer.state(*SITE)["customers"] == {}  # neither is a B2B customer yet

    company = shop.add_company("Mills & Co", external_id="CO-1", locations=[
        {"name": "Leeds", "external_id": "LEEDS", "billing_address": {"address1": "1 Mill Lane", "city": "Leeds",
                                                                       "zip": "LS1", "country_code": "GB"}},
        {"name": "York", "external_id": "YORK", "tax_exempt": True, "catalogs": [shop.catalog_of(trade)]}],
        contacts=[{"customer_id": bob, "title": "Buyer", "locations": ["York"]},  # Bob buys under Ada
                  {"customer_id": ada, "title": "Owner", "locations": ["Leeds"], "main": True}])
    env.deliver()  # each contact's customers/update
    assert env.partial_sync().success

    customers = env.sparklayer.state(*SITE)["customers"]
    assert {k: (c["company_name"], c["accounting_id"], c["title"], c["tax_exempt"]) for k, c in customers.items()} == {
        str(ada): ("Mills & Co", "LEEDS", "Owner", False), str(bob): ("Mills & Co", "YORK", "Buyer", True)}
    assert customers[str(bob)]["price_lists"] == [f"shopify-price-list-{trade}"]  # his location's catalog
    assert not customers[str(ada)].get("price_lists")  # Leeds has none: the merchant's, in SparkLayer
    [billing] = customers[str(ada)]["addresses"]  # her location's
    leeds = next(iter(shop.shop.companies[company].locations))
    assert (billing["external_id"], billing["address_line1"], billing["company"]) == (
        f"{ada}-location-{leeds}-billing", "1 Mill Lane", "Mills & Co")
    # SparkLayer takes a parent it already has: the main contact was written first
    assert customers[str(bob)]["parent_customer_id"] == str(ada) and "parent_customer_id" not in customers[str(ada)]

    mark = env.store.journal_mark()
    assert env.store.sync().success
    assert env.store.data_writes(mark) == []  # the next full sync has nothing to write


def test_a_company_and_a_location_edited_reach_their_contacts_through_their_webhooks(shopify_webhook_store):
    env = shopify_webhook_store
    shop = env.store.driver.sandbox
    ada = shop.add_customer("ada@forge.example", first_name="Ada", last_name="Forge")
    trade = shop.add_catalog("Trade", decrease_percent=10)
    company = shop.add_company("Forge Ltd", locations=[{"name": "Hull", "external_id": "HULL"}],
                               contacts=[{"customer_id": ada}])
    env.store.driver.forget_webhooks()
    assert env.store.sync().success
    assert env.sparklayer.state(*SITE)["customers"][str(ada)]["company_name"] == "Forge Ltd"

    shop.update_company(company, name="Forge & Sons")
    [location] = shop.shop.companies[company].locations
    shop.update_company_location(location, catalogs=[shop.catalog_of(trade)])
    env.deliver()
    assert env.partial_sync().success

    stored = env.sparklayer.state(*SITE)["customers"][str(ada)]
    assert (stored["company_name"], stored["price_lists"]) == ("Forge & Sons", [f"shopify-price-list-{trade}"])
    assert {r["entity_id"] for r in env.queue()} == {f"b2b:gid://shopify/Company/{company}",
                                                     f"b2b:gid://shopify/CompanyLocation/{location}"}


def test_a_customer_tagged_then_given_price_lists_then_untagged_follows_sparklayers_rule(shopify_webhook_store):
    env = shopify_webhook_store
    shop = env.store.driver.sandbox
    env.store.driver.forget_webhooks()

    def step() -> list:
        mark = env.store.journal_mark()
        env.deliver()
        assert env.partial_sync().success
        return [e for e in env.store.data_writes(mark) if "/customers/" in e.path]

    fay = shop.add_customer("fay@example.com", first_name="Fay", last_name="Lee", tags=["b2b"])
    assert len(step()) == 1 and str(fay) in env.sparklayer.state(*SITE)["customers"]

    shop.update_customer(fay, metafields={"price_lists": ("json", '["trade"]')})
    assert len(step()) == 1
    assert env.sparklayer.state(*SITE)["customers"][str(fay)]["price_lists"] == ["trade"]

    shop.update_customer(fay, tags=[])  # its sparklayer metafield still makes it a B2B customer (SL-CUST)
    assert step() == [] and str(fay) in env.sparklayer.state(*SITE)["customers"]

    shop.update_customer(fay, metafields={"price_lists": None})  # now it does not qualify: removed
    writes = step()
    assert [e.method for e in writes] == ["DELETE"] and str(fay) not in env.sparklayer.state(*SITE)["customers"]

    mark = env.store.journal_mark()
    assert env.store.sync().success
    assert env.store.data_writes(mark) == []
