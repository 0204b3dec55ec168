"""Drift: which changes of a diff no webhook announced (pure, no Dagster)."""

from ignite_etl.diff import Accepted, Change, unannounced


def change(entity, external_id, action="update", body=None, parent=None, accepts=()):
    return Change(entity, external_id, action, body, tuple(accepts), parent)


def test_a_change_is_announced_by_itself_its_product_its_variants_or_its_sku_owner():
    related = {"V1": ["P1"], "SKU-1": ["V1", "P1"], "SKU-2": ["V2", "P2"]}
    changes = [
        change("product", "P1"),                                                     # the advert itself
        change("variant", "V3", parent="P1"),                                        # its product was announced
        change("product", "P4", "create", accepts=[Accepted("variant", "V4", "h", "P4")]),  # a carried variant
        change("stock", "SKU-1@marketplacer", "set", body={"sku": "SKU-1"}),         # SKU -> variant -> product
        change("price", "SKU-2", "set", body={"sku": "SKU-2"}),                      # nothing named it
        change("variant", "V9", "discontinue", parent="P9"),                          # nothing named it
        change("customer", "c@example.com", "delete"),                               # no webhook for customers
    ]

    drift = unannounced(changes, {"P1", "V4"}, related)

    assert [(c.entity, c.external_id) for c in drift] == [
        ("price", "SKU-2"), ("variant", "V9"), ("customer", "c@example.com"),
    ]
    assert unannounced(changes, set(), related) == changes
