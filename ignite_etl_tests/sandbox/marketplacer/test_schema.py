"""The simulator's schema is a faithful subset of Marketplacer's published one, every document the adapter
sends is valid against it, and the simulator answers every field it declares."""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql import (
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLUnionType,
    build_schema,
    get_named_type,
    is_leaf_type,
    parse,
    validate,
)

from ignite_etl.platforms.marketplacer import queries
from ignite_etl.sandbox.marketplacer import schema_selection
from ignite_etl.sandbox.marketplacer.graphql_api import SCHEMA
from ignite_etl.sandbox.schema_subset import SelectionError, differences, read_sdl, subset_sdl

REFERENCE = Path(__file__).resolve().parents[3].parent / "shared" / "reference"
PUBLISHED = REFERENCE / "marketplacer-operator-api.graphql"
SIMULATOR_SDL = Path(schema_selection.__file__).with_name("schema.graphql")


@pytest.fixture(scope="module")
def published_sdl() -> str:
    if not PUBLISHED.is_file():
        pytest.skip(f"the published Marketplacer schema is not at {PUBLISHED} (it is in CI, beside the repository "
                    "in shared/reference); this check needs it")
    return read_sdl(PUBLISHED)


def adapter_documents() -> dict[str, str]:
    """Every GraphQL document the adapter module holds (operations), webhook payload queries included."""
    return {name: value for name, value in vars(queries).items()
            if isinstance(value, str) and value.lstrip().startswith(("query", "mutation"))}


def test_the_simulator_schema_is_a_faithful_subset_of_the_published_one(published_sdl):
    found = differences(SCHEMA, build_schema(published_sdl, assume_valid=True))

    assert found == []


def test_the_simulator_schema_is_what_its_selection_makes_of_the_published_one(published_sdl):
    regenerated = subset_sdl(published_sdl, schema_selection.SELECTION, header=schema_selection.HEADER)

    assert regenerated == SIMULATOR_SDL.read_text(), (
        "regenerate it: python -m ignite_etl.sandbox.schema_subset "
        f"{PUBLISHED} ignite_etl.sandbox.marketplacer.schema_selection {SIMULATOR_SDL}")


def test_the_subset_check_catches_an_invented_field_argument_or_type(published_sdl):
    published = build_schema(published_sdl, assume_valid=True)
    invented = SIMULATOR_SDL.read_text().replace("  countOnHand: Int!\n", "  countOnHand: Int!\n  stockLevel: Int\n", 1)
    invented = invented.replace("allAdverts(after: String,", "allAdverts(updatedAfter: String, after: String,")
    invented += "\ntype Invented { id: ID! }\n"

    found = differences(build_schema(invented), published)

    assert any("stockLevel is not published" in f for f in found)
    assert any("(updatedAfter:) is not published" in f for f in found)
    assert "type Invented is not published" in found
    with pytest.raises(SelectionError, match="no field nope"):
        subset_sdl(published_sdl, {**schema_selection.SELECTION, "Advert": ["id", "nope"]})


@pytest.mark.parametrize("name", sorted(adapter_documents()))
def test_every_document_the_adapter_sends_is_valid_against_the_simulator_schema(name):
    errors = validate(SCHEMA, parse(adapter_documents()[name]))  # every standard rule, unused fragments included

    assert [e.message for e in errors] == []


def test_the_documents_checked_include_the_webhook_payload_query_and_the_webhook_mutations():
    assert {"WEBHOOK_QUERY", "WEBHOOK_CREATE", "WEBHOOK_UPDATE", "WEBHOOKS", "ALL_ADVERTS", "ORDER_NODES",
            "ADVERT_VARIANTS", "ORDER_INVOICES"} <= set(adapter_documents())


def _selection(type_, depth: int) -> str:
    """Every field of `type_` that takes no required argument, leaves as they are and objects `depth` deep;
    each aliased by its type so fields of union members never clash."""
    named = get_named_type(type_)
    if is_leaf_type(named):
        return ""
    if isinstance(named, (GraphQLUnionType, GraphQLInterfaceType)):
        members = SCHEMA.get_possible_types(named)
        return "{ __typename " + " ".join(f"... on {m.name} {_selection(m, depth)}" for m in members) + " }"
    parts = []
    for field_name, field in named.fields.items():
        if any(isinstance(arg.type, GraphQLNonNull) and arg.default_value is None for arg in field.args.values()):
            continue
        inner = get_named_type(field.type)
        alias = f"{named.name}_{field_name}: {field_name}"
        if is_leaf_type(inner):
            parts.append(alias)
        elif depth > 0 and not (field_name == "order" and depth < 3):  # order <-> invoices would recurse
            parts.append(f"{alias} {_selection(field.type, depth - 1)}")
    return "{ " + " ".join(parts or ["__typename"]) + " }"


def test_the_simulator_answers_every_field_it_declares(sandbox):
    sandbox.generate(12, seed=5, broken_rate=0.5, b2b_rate=1.0, large_adverts=1)
    variant = next(v for v in sandbox.catalogue.variants.values() if v.sku and not v.deleted
                   and sandbox.catalogue.adverts[v.advert_id].state == "online")
    sandbox.set_stock(variant.legacy_id, 20)
    placed = sandbox.place_order([{"variant_id": variant.legacy_id, "quantity": 6}], {"emailAddress": "a@b.co"},
                                 {"address": "1 St", "city": "X", "postcode": "1", "state": "NSW", "country": "AU"},
                                 "cart-1")
    invoice = placed["invoice_ids"][0]
    sandbox.ship(invoice, [{"line_item_id": placed["line_item_ids"][0], "quantity": 2}])
    sandbox.refund(invoice, [{"line_item_id": placed["line_item_ids"][0], "quantity": 3}])
    sandbox.cancel(invoice, [{"line_item_id": placed["line_item_ids"][0], "quantity": 1}])
    sandbox.webhooks.create({"url": "https://example.test/hook", "type": "ADVERT"})
    others = [a for a in sandbox.catalogue.adverts.values() if a.legacy_id != variant.advert_id and a.state == "online"]
    sandbox.delete_advert(others[0].legacy_id)
    sandbox.set_advert_state(others[1].legacy_id, "unpublished")
    query_type = SCHEMA.query_type
    roots = " ".join(f"{name} {_selection(query_type.fields[name].type, 5)}"
                     for name in ("allAdverts", "invoices", "webhooks"))

    result = sandbox.execute("{ " + roots + " }")

    assert result.get("errors") is None, result.get("errors", [])[:3]
    assert result["data"]["allAdverts"]["AllAdvertsConnection_totalCount"] == 13
    kinds = {n["__typename"] for n in result["data"]["allAdverts"]["AllAdvertsConnection_nodes"]}
    assert kinds >= {"Advert", "UnpublishedAdvert", "DeletedAdvert"}


def test_list_and_non_null_wrappers_are_kept_as_published():
    field = SCHEMA.get_type("Invoice").fields["lineItems"]

    assert isinstance(field.type, GraphQLNonNull) and isinstance(field.type.of_type, GraphQLList)
    assert isinstance(SCHEMA.get_type("Order").fields["invoices"].type.of_type, GraphQLObjectType)
