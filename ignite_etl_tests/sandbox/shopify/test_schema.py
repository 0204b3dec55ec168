"""The Shopify simulator's schema is a faithful subset of Shopify's published 2025-01 Admin API type system,
every document the adapter sends is valid against it, and each one's requested cost stays under Shopify's
1,000-point cap for one query."""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql import build_schema, parse, validate

from ignite_etl.platforms.shopify import queries
from ignite_etl.sandbox.schema_subset import differences, read_sdl, subset_sdl
from ignite_etl.sandbox.shopify import schema_selection
from ignite_etl.sandbox.shopify.graphql_api import SCHEMA, requested_cost

REFERENCE = Path(__file__).resolve().parents[3].parent / "shared" / "reference"
PUBLISHED = REFERENCE / "shopify-admin-2025-01.graphql.gz"
SIMULATOR_SDL = Path(schema_selection.__file__).with_name("schema.graphql")
MAX_COST = 1000


@pytest.fixture(scope="module")
def published_sdl() -> str:
    if not PUBLISHED.is_file():
        pytest.skip(f"Shopify's published Admin schema is not at {PUBLISHED} (it is in CI, beside the repository in "
                    "shared/reference); this check needs it")
    return read_sdl(PUBLISHED)


def adapter_documents() -> dict[str, str]:
    return {name: value for name, value in vars(queries).items()
            if isinstance(value, str) and value.lstrip().startswith(("query", "mutation"))}


def test_the_simulator_schema_is_a_faithful_subset_of_the_published_one(published_sdl):
    assert differences(SCHEMA, build_schema(published_sdl, assume_valid=True)) == []


def test_the_simulator_schema_is_what_its_selection_makes_of_the_published_one(published_sdl):
    regenerated = subset_sdl(published_sdl, schema_selection.SELECTION, header=schema_selection.HEADER)

    assert regenerated == SIMULATOR_SDL.read_text(), (
        "regenerate it: python -m ignite_etl.sandbox.schema_subset "
        f"{PUBLISHED} ignite_etl.sandbox.shopify.schema_selection {SIMULATOR_SDL}")


def test_an_invented_field_is_caught(published_sdl):
    invented = SIMULATOR_SDL.read_text().replace("  handle: String!\n", "  handle: String!\n  slug: String!\n", 1)

    found = differences(build_schema(invented), build_schema(published_sdl, assume_valid=True))

    assert "Product.slug is not published" in found


@pytest.mark.parametrize("name", sorted(adapter_documents()))
def test_every_document_the_adapter_sends_is_valid_against_the_simulator_schema(name):
    assert [e.message for e in validate(SCHEMA, parse(adapter_documents()[name]))] == []


@pytest.mark.parametrize("name", sorted(adapter_documents()))
def test_every_document_costs_at_most_what_shopify_allows_one_query(name):
    page_sizes = {"PRODUCTS": queries.PRODUCTS_PER_PAGE, "CATALOGS": queries.CATALOGS_PER_PAGE,
                  "PRICE_LIST_PRICES": queries.PRICES_PER_PAGE, "CUSTOMERS": queries.CUSTOMERS_PER_PAGE,
                  "ORDERS": queries.ORDERS_PER_PAGE}
    variables = {"first": page_sizes.get(name, max(queries.LOCATIONS_PER_PAGE, queries.WEBHOOKS_PER_PAGE)),
                 "ids": ["gid://shopify/Product/1"] * max(queries.B2B_NODES_PER_REQUEST if "B2B" in name
                                                          else queries.NODES_PER_REQUEST if "PRODUCT" in name
                                                          else queries.CUSTOMERS_PER_PAGE if "CUSTOMER" in name
                                                          else 1 if "ORDER" in name  # one order a request
                                                          else queries.INVENTORY_ITEMS_PER_REQUEST, 1)}

    assert 0 < requested_cost(SCHEMA, parse(adapter_documents()[name]), variables) <= MAX_COST


def test_the_cost_of_a_connection_grows_with_first():
    document = parse("query($first: Int!) { products(first: $first) { nodes { id variants(first: 10) { nodes { id } } } } }")

    assert requested_cost(SCHEMA, document, {"first": 1}) == 2 + 1 * (1 + 2 + 10 * 1)
    assert requested_cost(SCHEMA, document, {"first": 5}) == 2 + 5 * (1 + 2 + 10 * 1)
