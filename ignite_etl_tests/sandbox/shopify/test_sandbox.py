"""The Shopify simulator behaves as Shopify publishes: tokens, OAuth, cost throttling, bulk operations and
signed webhooks with retries, over real HTTP."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ignite_etl.sandbox.server import BackgroundServer
from ignite_etl.sandbox.shopify.sandbox import GRAPHQL_PATH, ShopifySandbox

TIME_SCALE = 0.0001
BULK_PRODUCTS = '{ products { edges { node { id handle variants { edges { node { id sku } } } } } } }'


@pytest.fixture
def sandbox():
    sim = ShopifySandbox(auto_deliver=False, time_scale=TIME_SCALE)
    yield sim
    sim.close()


@pytest.fixture
def server(sandbox):
    with BackgroundServer(sandbox.asgi) as running:
        yield running


@pytest.fixture
def admin(sandbox, server):
    token = sandbox.issue_token(expiring=False)["access_token"]
    with httpx.Client(base_url=server.url, headers={"X-Shopify-Access-Token": token}) as client:
        def call(query: str, variables: dict | None = None) -> dict:
            return client.post(GRAPHQL_PATH, json={"query": query, "variables": variables or {}}).json()
        yield call


def test_a_call_without_a_valid_token_is_401(server):
    answer = httpx.post(server.url + GRAPHQL_PATH, json={"query": "{ shop { id } }"},
                        headers={"X-Shopify-Access-Token": "shpat_forged"})

    assert answer.status_code == 401


def test_every_answer_reports_its_cost_and_the_bucket(admin):
    body = admin("{ shop { id currencyCode } }")

    assert body["data"]["shop"]["currencyCode"] == "AUD"
    status = body["extensions"]["cost"]["throttleStatus"]
    assert body["extensions"]["cost"]["requestedQueryCost"] == 1
    assert set(status) == {"maximumAvailable", "currentlyAvailable", "restoreRate"}


def test_a_query_the_bucket_cannot_pay_for_is_throttled(sandbox, admin):
    sandbox.set_throttle(maximum_available=50, restore_rate=0.0000001)

    body = admin("query { products(first: 100) { nodes { id } } }")

    assert body["errors"][0]["extensions"]["code"] == "THROTTLED"
    assert body["extensions"]["cost"]["actualQueryCost"] is None
    assert sandbox.throttled_requests == 1


def test_a_query_over_the_single_query_cap_is_refused(admin):
    body = admin("query { products(first: 250) { nodes { variants(first: 250) { nodes { id } } } } }")

    assert body["errors"][0]["extensions"]["code"] == "MAX_COST_EXCEEDED"


def test_connections_need_first(admin):
    body = admin("query { products { nodes { id } } }")

    assert "first or last" in body["errors"][0]["message"]


def test_a_bulk_query_writes_jsonl_with_parent_ids_and_only_one_runs_at_a_time(sandbox, admin):
    sandbox.generate(300, seed=1, broken_rate=0)
    sandbox.bulk_window_seconds = 0.3  # two windows: the operation runs long enough to ask for a second
    run = "mutation($q: String!) { bulkOperationRunQuery(query: $q) { bulkOperation { id status } userErrors { code message } } }"

    started = admin(run, {"q": BULK_PRODUCTS})["data"]["bulkOperationRunQuery"]
    second = admin(run, {"q": BULK_PRODUCTS})["data"]["bulkOperationRunQuery"]
    operation = sandbox.wait_for_bulk()

    assert started["userErrors"] == [] and started["bulkOperation"]["id"].startswith("gid://shopify/BulkOperation/")
    assert second["bulkOperation"] is None and second["userErrors"][0]["code"] == "OPERATION_IN_PROGRESS"
    assert operation.status == "COMPLETED"
    answer = admin("{ currentBulkOperation { status url objectCount rootObjectCount } }")
    current = answer["data"]["currentBulkOperation"]
    assert current["status"] == "COMPLETED"
    lines = [json.loads(line) for line in httpx.get(current["url"]).text.splitlines()]
    products = [line for line in lines if "__parentId" not in line]
    variants = [line for line in lines if "__parentId" in line]
    assert len(products) == 300 == int(current["rootObjectCount"])
    assert len(lines) == int(current["objectCount"]) == 300 + len(sandbox.shop.variants)
    seen: set[str] = set()
    for line in lines:  # every child comes after its parent
        assert line.get("__parentId") is None or line["__parentId"] in seen
        seen.add(line["id"])
    assert {v["__parentId"] for v in variants} == {p["id"] for p in products}


@pytest.mark.parametrize(("query", "message"), [
    ("{ products { edges { node { variants { edges { node { metafields { edges { node { key } } } } } } } } } }",
     "nesting depth"),
    ("{ shop { id } }", "connection"),
    ("{ products { edges { node { nope } } } }", "Invalid bulk query"),
])
def test_a_bulk_query_shopify_would_refuse_is_refused(admin, query, message):
    run = "mutation($q: String!) { bulkOperationRunQuery(query: $q) { bulkOperation { id } userErrors { code message } } }"

    [error] = admin(run, {"q": query})["data"]["bulkOperationRunQuery"]["userErrors"]

    assert error["code"] == "INVALID" and message in error["message"]


def signed_ok(query: dict, secret: str) -> bool:
    given = query.pop("hmac")
    message = "&".join(f"{k}={v}" for k, v in sorted(query.items()))
    return hmac.compare_digest(given, hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest())


def test_the_authorisation_code_grant_gives_an_expiring_offline_token_and_refreshes_it(sandbox, server):
    callback = "https://ignite.example/install/shopify/callback"
    sandbox.configure_app(redirect_urls=[callback])
    app = sandbox.app
    authorize = {"client_id": app.client_id, "scope": "read_products", "redirect_uri": callback, "state": "nonce-1"}

    page = httpx.get(server.url + "/admin/oauth/authorize", params=authorize)
    approved = httpx.post(server.url + "/admin/oauth/authorize", data=authorize)
    query = {k: v[0] for k, v in parse_qs(urlsplit(approved.headers["location"]).query).items()}

    assert page.status_code == 200 and "Install app" in page.text
    assert approved.headers["location"].startswith(callback)
    assert query["state"] == "nonce-1" and query["shop"] == sandbox.shop.domain
    assert signed_ok(dict(query), app.client_secret)
    grant = httpx.post(server.url + "/admin/oauth/access_token", json={
        "client_id": app.client_id, "client_secret": app.client_secret, "code": query["code"], "expiring": "1"}).json()
    assert grant["expires_in"] == 3600 and grant["refresh_token"]
    again = httpx.post(server.url + "/admin/oauth/access_token", json={
        "client_id": app.client_id, "client_secret": app.client_secret, "code": query["code"], "expiring": "1"})
    assert again.status_code == 400  # a code is spent once

    def refresh(token: str) -> httpx.Response:
        return httpx.post(server.url + "/admin/oauth/access_token", json={
            "client_id": app.client_id, "client_secret": app.client_secret, "refresh_token": token,
            "grant_type": "refresh_token"})

    first = refresh(grant["refresh_token"]).json()
    assert refresh(grant["refresh_token"]).status_code == 200  # still valid: its replacement is not used yet
    refresh(first["refresh_token"])
    assert refresh(grant["refresh_token"]).status_code == 400  # spent once its replacement was used


def test_a_redirect_uri_that_is_not_allowed_is_refused(sandbox, server):
    answer = httpx.get(server.url + "/admin/oauth/authorize", params={
        "client_id": sandbox.app.client_id, "scope": "read_products", "redirect_uri": "https://evil.example/cb",
        "state": "x"})

    assert answer.status_code == 400


class Receiver:
    """A webhook endpoint on loopback that answers `status` and keeps what it got."""

    def __init__(self, status: int = 200):
        self.status = status
        self.received: list[tuple[dict, bytes]] = []

        async def receive(request: Request) -> Response:
            self.received.append((dict(request.headers), await request.body()))
            return Response(status_code=self.status)

        self.app = Starlette(routes=[Route("/hook", receive, methods=["POST"])])


def test_webhooks_are_signed_with_the_client_secret_over_the_raw_body(sandbox, admin):
    receiver = Receiver()
    with BackgroundServer(receiver.app) as hook:
        create = ('mutation($url: URL!) { webhookSubscriptionCreate(topic: PRODUCTS_UPDATE, '
                  'webhookSubscription: {callbackUrl: $url, format: JSON}) '
                  '{ webhookSubscription { id } userErrors { message } } }')
        assert admin(create, {"url": hook.url + "/hook"})["data"]["webhookSubscriptionCreate"]["userErrors"] == []
        product = sandbox.add_product("Signed", [{"sku": "S-1", "price": "1.00"}])
        sandbox.update_product(product, title="Signed again")
        sandbox.deliver_webhooks()

    [(headers, body)] = receiver.received
    expected = base64.b64encode(hmac.new(sandbox.app.client_secret.encode(), body, hashlib.sha256).digest()).decode()
    assert headers["x-shopify-hmac-sha256"] == expected
    assert headers["x-shopify-topic"] == "products/update"
    assert headers["x-shopify-webhook-id"] and headers["x-shopify-event-id"]
    assert json.loads(body)["title"] == "Signed again"


def test_a_failing_subscription_is_retried_8_times_then_removed(sandbox, admin):
    receiver = Receiver(status=500)
    with BackgroundServer(receiver.app) as hook:
        sandbox.subscribe("PRODUCTS_UPDATE", hook.url + "/hook")
        product = sandbox.add_product("Failing", [{"sku": "F-1", "price": "1.00"}])
        sandbox.update_product(product, title="Failing again")
        sandbox.deliver_webhooks(timeout=10)

    assert len(receiver.received) == 8  # the 8th consecutive failure removes the subscription
    assert len({headers["x-shopify-webhook-id"] for headers, _ in receiver.received}) == 1
    assert sandbox.subscriptions == {} and len(sandbox.webhooks.removed) == 1


def test_a_catalogs_price_list_prices_every_variant_relative_or_fixed_with_breaks(sandbox, server, admin):
    product = sandbox.add_product("Kettle", [{"sku": "K-1", "price": "20.00"}, {"sku": "K-2", "price": "30.00"}])
    k1, k2 = sandbox.shop.products[product].variant_ids
    made = httpx.post(server.url + "/_sandbox/catalogs", json={"title": "Trade", "decrease_percent": 10})
    price_list = made.json()["price_list_id"]
    assert httpx.put(f"{server.url}/_sandbox/price-lists/{price_list}/prices/{k2}", json={"price": "25"}).status_code == 200
    sandbox.shop.price_lists[price_list].breaks[k1] = [(10, "16.00")]

    body = admin("""query($id: ID!) { catalogs(first: 5, type: COMPANY_LOCATION) { nodes { title status
                      priceList { id currency parent { adjustment { type value } } } } }
                    priceList(id: $id) { prices(first: 10) { nodes { originType price { amount currencyCode }
                      variant { sku } quantityPriceBreaks(first: 5) { nodes { minimumQuantity price { amount } } } } } } }""",
                 {"id": f"gid://shopify/PriceList/{price_list}"})

    [catalog] = body["data"]["catalogs"]["nodes"]
    assert made.status_code == 201 and catalog["title"] == "Trade" and catalog["status"] == "ACTIVE"
    assert catalog["priceList"]["parent"]["adjustment"] == {"type": "PERCENTAGE_DECREASE", "value": 10.0}
    prices = {p["variant"]["sku"]: p for p in body["data"]["priceList"]["prices"]["nodes"]}
    assert (prices["K-1"]["originType"], prices["K-1"]["price"]["amount"]) == ("RELATIVE", "18.00")
    assert (prices["K-2"]["originType"], prices["K-2"]["price"]["amount"]) == ("FIXED", "25.00")
    assert prices["K-1"]["quantityPriceBreaks"]["nodes"] == [{"minimumQuantity": 10, "price": {"amount": "16.00"}}]
    assert body["extensions"]["cost"]["requestedQueryCost"] > 2 + 10  # prices are charged per node, with breaks


def test_customers_with_tags_addresses_and_metafields_are_read_and_their_edits_sent(sandbox, server, admin):
    receiver = Receiver()
    with BackgroundServer(receiver.app) as hook:
        for topic in ("CUSTOMERS_CREATE", "CUSTOMERS_UPDATE", "CUSTOMERS_DELETE"):
            made = admin(f'mutation($url: URL!) {{ webhookSubscriptionCreate(topic: {topic}, '
                         'webhookSubscription: {callbackUrl: $url, format: JSON}) { userErrors { message } } }',
                         {"url": hook.url + "/hook"})
            assert made["data"]["webhookSubscriptionCreate"]["userErrors"] == []
        created = httpx.post(server.url + "/_sandbox/customers", json={
            "email": "ada@example.com", "first_name": "Ada", "last_name": "Lovelace", "tags": ["b2b", "b2b-trade"],
            "tax_exempt": True, "metafields": {"company_name": ["single_line_text_field", "Analytical Engines"]},
            "addresses": [{"address1": "1 Engine Way", "city": "London", "country_code": "GB", "zip": "N1"}]})
        customer = created.json()["customer_id"]
        assert httpx.patch(f"{server.url}/_sandbox/customers/{customer}", json={"tags": ["b2b"]}).status_code == 200
        assert httpx.delete(f"{server.url}/_sandbox/customers/{customer}").status_code == 200
        sandbox.add_customer("retail@example.com")
        sandbox.deliver_webhooks()

    [read] = admin("""{ customers(first: 10, query: "updated_at:>='2000-01-01T00:00:00Z'") { nodes {
                          legacyResourceId email tags taxExempt defaultAddress { countryCodeV2 }
                          addresses { address1 city zip } metafields(namespace: "sparklayer", first: 5) {
                          nodes { key value } } } } }""")["data"]["customers"]["nodes"]
    assert created.status_code == 201 and read["email"] == "retail@example.com"  # the first was deleted
    topics = [headers["x-shopify-topic"] for headers, _ in receiver.received]
    assert topics == ["customers/create", "customers/update", "customers/delete", "customers/create"]
    first = json.loads(receiver.received[0][1])
    assert first["tags"] == "b2b, b2b-trade" and first["tax_exempt"] is True
    assert first["addresses"][0]["country_code"] == "GB" and first["addresses"][0]["default"] is True
    assert json.loads(receiver.received[1][1])["tags"] == "b2b"
    assert json.loads(receiver.received[2][1]) == {"id": customer}


def test_a_customers_addresses_and_sparklayer_metafields_are_in_the_admin_api(sandbox, admin):
    customer = sandbox.add_customer("ada@example.com", first_name="Ada", tags=["b2b"], metafields={
        "price_lists": ("json", '["trade"]')}, addresses=[{"address1": "1 Engine Way", "country_code": "GB"},
                                                          {"address1": "2 Mill Lane", "country_code": "GB"}])

    body = admin("""query($id: ID!) { customer(id: $id) { email firstName tags taxExempt defaultAddress { address1 }
                      addresses { address1 countryCodeV2 } metafield(namespace: "sparklayer", key: "price_lists") {
                      type value } } }""", {"id": f"gid://shopify/Customer/{customer}"})

    found = body["data"]["customer"]
    assert (found["email"], found["firstName"], found["tags"], found["taxExempt"]) == ("ada@example.com", "Ada", ["b2b"], False)
    assert found["defaultAddress"] == {"address1": "1 Engine Way"}
    assert [a["address1"] for a in found["addresses"]] == ["1 Engine Way", "2 Mill Lane"]
    assert found["metafield"] == {"type": "json", "value": '["trade"]'}


CREATE = """mutation($input: CustomerInput!) { customerCreate(input: $input) {
              customer { id email tags } userErrors { field message } } }"""
SET = """mutation($m: [MetafieldsSetInput!]!) { metafieldsSet(metafields: $m) {
           metafields { key value } userErrors { field message code elementIndex } } }"""


def test_customers_are_created_found_by_email_tagged_and_given_metafields_with_user_errors(sandbox, admin):
    metafield = {"namespace": "sparklayer", "key": "price_lists", "type": "json", "value": '["trade"]'}
    made = admin(CREATE, {"input": {"email": "ada@example.com", "firstName": "Ada", "tags": ["b2b"],
                                    "metafields": [metafield]}})["data"]["customerCreate"]
    taken = admin(CREATE, {"input": {"email": "ADA@example.com"}})["data"]["customerCreate"]
    bad_json = admin(CREATE, {"input": {"email": "bad@example.com", "metafields": [{**metafield, "value": "[no"}]}})

    assert made["userErrors"] == [] and made["customer"]["tags"] == ["b2b"]
    assert taken == {"customer": None, "userErrors": [{"field": ["email"], "message": "Email has already been taken"}]}
    assert bad_json["data"]["customerCreate"]["userErrors"][0]["field"] == ["metafields", "0", "value"]
    assert [c.email for c in sandbox.shop.customers.values()] == ["ada@example.com"]

    found = admin('query($e: String!) { customerByIdentifier(identifier: {emailAddress: $e}) { id } }',
                  {"e": "Ada@Example.com"})["data"]["customerByIdentifier"]
    assert found == {"id": made["customer"]["id"]}
    added = admin('mutation($id: ID!) { tagsAdd(id: $id, tags: ["B2B", "vip"]) { node { ... on Customer { tags } } '
                  'userErrors { message } } }', {"id": found["id"]})["data"]["tagsAdd"]
    assert added == {"node": {"tags": ["b2b", "vip"]}, "userErrors": []}

    # metafieldsSet is all or nothing: one bad value and none is written
    refused = admin(SET, {"m": [{"ownerId": found["id"], "namespace": "sparklayer", "key": "group",
                                 "type": "single_line_text_field", "value": "trade"},
                                {"ownerId": found["id"], "namespace": "sparklayer", "key": "discount_percentage",
                                 "type": "number_decimal", "value": "five"}]})["data"]["metafieldsSet"]
    assert refused["userErrors"] == [{"field": ["metafields", "1", "value"], "message": "Value is not a valid "
                                      "number_decimal", "code": "INVALID_VALUE", "elementIndex": 1}]
    [customer] = sandbox.shop.customers.values()
    assert set(customer.metafields) == {"price_lists"}
    upserted = admin(SET, {"m": [{"ownerId": found["id"], "namespace": "sparklayer", "key": "price_lists",
                                  "value": '["retail"]'}]})["data"]["metafieldsSet"]  # its type is known
    assert upserted == {"metafields": [{"key": "price_lists", "value": '["retail"]'}], "userErrors": []}
    assert customer.metafields["price_lists"].type == "json"


def test_an_app_proxy_query_is_signed_as_shopify_signs_one(sandbox, server):
    customer = sandbox.add_customer("ada@example.com")

    query = parse_qs(httpx.get(f"{server.url}/_sandbox/app-proxy", params={"customer_id": customer}).json()["query"],
                     keep_blank_values=True)

    signature = query.pop("signature")[0]
    message = "".join(f"{k}={','.join(v)}" for k, v in sorted(query.items()))
    assert signature == hmac.new(sandbox.app.client_secret.encode(), message.encode(), hashlib.sha256).hexdigest()
    assert query["logged_in_customer_id"] == [str(customer)] and query["shop"] == [sandbox.shop.domain]


def test_orders_with_note_attributes_fulfillments_and_refunds_are_read_and_their_webhooks_name_the_order(
        sandbox, server, admin):
    product = sandbox.add_product("Kettle", [{"sku": "K-1", "price": "20.00"}])
    [variant] = sandbox.shop.products[product].variant_ids
    receiver = Receiver()
    with BackgroundServer(receiver.app) as hook:
        for topic in ("ORDERS_CREATE", "FULFILLMENTS_CREATE", "REFUNDS_CREATE"):
            admin(f'mutation($url: URL!) {{ webhookSubscriptionCreate(topic: {topic}, '
                  'webhookSubscription: {callbackUrl: $url, format: JSON}) { userErrors { message } } }',
                  {"url": hook.url + "/hook"})
        order, [line] = sandbox.add_order(None, [{"variant_id": variant, "quantity": 3,
                                                  "properties": [("Charged Price", "15.00")]}],
                                          attributes=[("sparkCartId", "cart-1")])
        sandbox.fulfill(order, {line: 2}, company="UPS", number="1Z")
        sandbox.refund(order, {line: (1, "CANCEL")})
        sandbox.deliver_webhooks()

    found = admin("""query($id: ID!) { order(id: $id) { name customAttributes { key value }
        lineItems(first: 5) { nodes { id quantity sku customAttributes { key value } } }
        fulfillments(first: 5) { trackingInfo(first: 1) { company number } fulfillmentLineItems(first: 5) {
          nodes { quantity lineItem { id } } } }
        refunds(first: 5) { refundLineItems(first: 5) { nodes { quantity restockType } } } } }""",
                  {"id": f"gid://shopify/Order/{order}"})["data"]["order"]
    assert found["name"] == "#1001" and found["customAttributes"] == [{"key": "sparkCartId", "value": "cart-1"}]
    [item] = found["lineItems"]["nodes"]
    assert (item["quantity"], item["customAttributes"]) == (3, [{"key": "Charged Price", "value": "15.00"}])
    [fulfillment] = found["fulfillments"]
    assert fulfillment["trackingInfo"] == [{"company": "UPS", "number": "1Z"}]
    assert fulfillment["fulfillmentLineItems"]["nodes"] == [{"quantity": 2, "lineItem": {"id": item["id"]}}]
    assert found["refunds"][0]["refundLineItems"]["nodes"] == [{"quantity": 1, "restockType": "CANCEL"}]
    bodies = {headers["x-shopify-topic"]: json.loads(body) for headers, body in receiver.received}
    assert set(bodies) == {"orders/create", "fulfillments/create", "refunds/create"}
    assert bodies["orders/create"]["note_attributes"] == [{"name": "sparkCartId", "value": "cart-1"}]
    assert bodies["fulfillments/create"]["order_id"] == bodies["refunds/create"]["order_id"] == order
