import base64

import httpx

from ignite_etl.sandbox.marketplacer import DEFAULT_API_KEY

KEY = {"MARKETPLACER-API-KEY": DEFAULT_API_KEY}
PAGE = "query($after: String) { allAdverts(first: 2, after: $after) { totalCount pageInfo { hasNextPage endCursor } nodes { __typename ... on Advert { id legacyId } } } }"


def _gql(server, query, variables=None, headers=KEY):
    return httpx.post(f"{server.url}/graphql", json={"query": query, "variables": variables or {}}, headers=headers)


def test_graphql_without_a_key_is_refused_with_401(server):
    assert _gql(server, "{ allAdverts { totalCount } }", headers={}).status_code == 401


def test_api_keys_can_be_rotated_over_http(server):
    httpx.put(f"{server.url}/_sandbox/api-keys", json={"keys": ["new-key"]}).raise_for_status()

    assert _gql(server, "{ allAdverts { totalCount } }").status_code == 401
    assert _gql(server, "{ allAdverts { totalCount } }", headers={"MARKETPLACER-API-KEY": "new-key"}).status_code == 200


def test_ids_are_base64_type_and_legacy_id(server):
    httpx.post(f"{server.url}/_sandbox/catalogue", json={"adverts": 3, "seed": 1, "broken_rate": 0}).raise_for_status()

    nodes = _gql(server, PAGE).json()["data"]["allAdverts"]["nodes"]

    assert [base64.b64decode(n["id"]).decode() for n in nodes] == ["Advert-1", "Advert-2"]
    assert [n["legacyId"] for n in nodes] == [1, 2]


def test_relay_paging_skips_adverts_moved_by_an_update_and_shows_them_at_the_end(sandbox, server):
    sandbox.generate(5, seed=1, broken_rate=0)
    first = _gql(server, PAGE).json()["data"]["allAdverts"]
    sandbox.set_title(4, "Moved")

    seen = [n["legacyId"] for n in first["nodes"]]
    after = first["pageInfo"]["endCursor"]
    while after:
        page = _gql(server, PAGE, {"after": after}).json()["data"]["allAdverts"]
        seen += [n["legacyId"] for n in page["nodes"]]
        after = page["pageInfo"]["endCursor"] if page["pageInfo"]["hasNextPage"] else None

    assert first["totalCount"] == 5
    assert seen == [1, 2, 3, 5, 4]


def test_unknown_fields_and_arguments_fail_validation(server):
    body = _gql(server, "{ allAdverts(updatedAfter: \"2025-01-01\") { totalCount } }").json()

    assert body["data"] is None
    assert "updatedAfter" in body["errors"][0]["message"]


def test_rate_limit_answers_429_with_retry_after(server):
    httpx.put(f"{server.url}/_sandbox/rate-limits", json={"per_key": 2, "window_seconds": 5}).raise_for_status()

    statuses = [_gql(server, "{ allAdverts { totalCount } }") for _ in range(3)]

    assert [r.status_code for r in statuses] == [200, 200, 429]
    assert int(statuses[2].headers["retry-after"]) >= 1


def test_sandbox_endpoints_change_the_catalogue_and_place_orders(sandbox, server):
    base = f"{server.url}/_sandbox"
    advert = httpx.post(f"{base}/adverts", json={"title": "Lamp", "variants": [
        {"sku": "L-1", "price": "9.99", "count_on_hand": 4}]}).json()["advert_id"]
    variant = sandbox.catalogue.adverts[advert].variant_ids[0]

    httpx.patch(f"{base}/variants/{variant}", json={"price": "11.50", "count_on_hand": 6}).raise_for_status()
    httpx.patch(f"{base}/adverts/{advert}", json={"title": "Desk lamp"}).raise_for_status()
    order = httpx.post(f"{base}/orders", json={"lines": [{"variant_id": variant, "quantity": 2}],
                                               "buyer": {"emailAddress": "a@b.co"}, "sparklayer_cart_id": "c"}).json()
    invoice = order["invoice_ids"][0]
    shipped = httpx.post(f"{base}/invoices/{invoice}/shipments", json={})
    too_many = httpx.post(f"{base}/orders", json={"lines": [{"variant_id": variant, "quantity": 99}], "buyer": {}})
    httpx.delete(f"{base}/adverts/{advert}").raise_for_status()

    record = sandbox.catalogue.variants[variant]
    assert (record.price, record.count_on_hand) == ("11.50", 4)
    assert sandbox.catalogue.adverts[advert].title == "Desk lamp"
    assert sandbox.catalogue.adverts[advert].state == "deleted"
    assert shipped.status_code == 201 and len(sandbox.catalogue.invoices[invoice].shipments) == 1
    assert too_many.status_code == 400 and too_many.headers["content-type"] == "application/problem+json"


def test_unknown_variant_is_a_404_problem(server):
    response = httpx.patch(f"{server.url}/_sandbox/variants/999", json={"price": "1.00"})

    assert response.status_code == 404


def test_generation_reports_broken_records_at_the_requested_rate(sandbox):
    report = sandbox.generate(2000, seed=4, broken_rate=0.05)

    broken = sum(len(ids) for ids in report.broken.values())
    assert 60 <= broken <= 140
    assert all(sandbox.catalogue.variants[v].sku is None for v in report.broken["variant_without_sku"])
    assert all(sandbox.catalogue.variants[v].price == "N/A" for v in report.broken["unparsable_price"])
    assert all(sandbox.catalogue.adverts[a].state == "deleted" for a in report.broken["deleted_advert"])
    assert all(1 <= len(a.variant_ids) <= 5 for a in sandbox.catalogue.adverts.values())
