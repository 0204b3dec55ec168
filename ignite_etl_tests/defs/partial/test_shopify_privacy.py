"""Shopify's customer redaction on a store whose customers we sync: our copy of the customer and of the purchases
we sent for the orders named goes at once, and the partial sync removes from SparkLayer the customer the store no
longer has."""

from __future__ import annotations

from ignite_etl.store.database import connect
from ignite_etl_tests.defs.sync.conftest import SITE_ENV, SITE_ID

SITE = (SITE_ENV, SITE_ID)


def test_a_customer_redaction_forgets_our_copy_and_removes_the_customer_from_sparklayer(shopify_webhook_store):
    env = shopify_webhook_store
    shop = env.store.driver.sandbox
    shop.configure_app(compliance_url=f"{env.ingress_url}/webhooks/shopify/privacy")
    kept = shop.add_customer("kim@example.com", first_name="Kim", last_name="Keep", tags=["b2b"])
    gone = shop.add_customer("jo@example.com", first_name="Jo", last_name="Gone", tags=["b2b"], phone="555-0100")
    variant = next(v for v in shop.shop.variants.values() if v.sku)
    order, _ = shop.add_order(gone, [{"variant_id": variant.id, "quantity": 1}], attributes=[("sparkCartId", "cart-jo")])
    env.store.driver.forget_webhooks()
    assert env.store.sync().success
    assert env.orders_pass().success
    assert set(env.sparklayer.state(*SITE)["customers"]) == {str(kept), str(gone)}
    [sent] = ingress_rows(env, "select body from purchase_state")
    assert sent["body"]["customer"]["email"] == "jo@example.com"

    # the customer asks to be forgotten; Shopify deletes them and, later, sends the redaction (no delete webhook)
    shop.shop.customers.pop(gone)
    shop.send_privacy_webhook("customers/redact", {"customer": {"id": gone, "email": "jo@example.com",
                                                                "phone": "555-0100"}, "orders_to_redact": [order]})
    env.deliver()

    extract = ingress_rows(env, "select external_id, email from platform.platform_customers")
    assert [r["external_id"] for r in extract] == [str(kept)]  # our copy of Jo went at once
    assert ingress_rows(env, "select body from purchase_state") == [{"body": None}]  # and of Jo's order
    assert env.partial_sync().success
    assert set(env.sparklayer.state(*SITE)["customers"]) == {str(kept)}
    [request] = ingress_rows(env, "select kind, customer_id, done_at from privacy_request")
    assert (request["kind"], request["customer_id"]) == ("customer_redact", str(gone)) and request["done_at"]


def ingress_rows(env, query: str) -> list[dict]:
    with connect(env.store.database_url) as conn:
        return conn.execute(query).fetchall()
