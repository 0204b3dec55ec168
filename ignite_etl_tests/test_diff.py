"""The pure diff: what changed against the last accepted state, and nothing else."""

from ignite_etl.diff import (
    DISCONTINUED,
    DesiredProduct,
    StateRow,
    diff_products,
    diff_records,
    discontinued_marker,
    record_hash,
)


def variant(vid: str, sku: str, **extra) -> dict:
    return {"external_id": vid, "sku": sku, "position": 1, "status": "live", **extra}


def product(pid: str, title: str, *variants: dict) -> DesiredProduct:
    return DesiredProduct({"external_id": pid, "title": title, "slug": title.lower()}, tuple(variants))


def accepted(*products: DesiredProduct) -> dict:
    """The state after SparkLayer accepted these products as they are."""
    state = {}
    for p in products:
        state[("product", p.external_id)] = StateRow(record_hash(p.fields), status="live")
        for v in p.variants:
            state[("variant", v["external_id"])] = StateRow(record_hash(v), p.external_id, v.get("status", "live"))
    return state


def test_record_hash_ignores_key_order_but_not_values():
    assert record_hash({"a": 1, "b": [1, 2]}) == record_hash({"b": [1, 2], "a": 1})
    assert record_hash({"a": 1}) != record_hash({"a": 2})


def test_new_product_is_one_create_carrying_its_variants_state():
    p = product("p1", "Boots", variant("v1", "S1"), variant("v2", "S2"))
    changes = diff_products([p], {}, complete=True).changes
    (create,) = changes
    assert (create.entity, create.action) == ("product", "create")
    assert [v["external_id"] for v in create.body["variants"]] == ["v1", "v2"]
    assert {(a.entity, a.external_id) for a in create.accepts} == {("product", "p1"), ("variant", "v1"), ("variant", "v2")}


def test_unchanged_catalogue_makes_no_changes():
    p = product("p1", "Boots", variant("v1", "S1"))
    result = diff_products([p], accepted(p), complete=True)
    assert result.changes == []
    assert result.counts()["unchanged"] == 2


def test_title_change_updates_only_the_product_and_sku_change_only_the_variant():
    before = product("p1", "Boots", variant("v1", "S1"), variant("v2", "S2"))
    after = product("p1", "Better Boots", variant("v1", "S1"), variant("v2", "S2-NEW"))
    changes = diff_products([after], accepted(before), complete=True).changes
    assert [(c.entity, c.external_id, c.action) for c in changes] == [
        ("product", "p1", "update"),
        ("variant", "v2", "update"),
    ]
    assert changes[0].body == {"title": "Better Boots", "slug": "better boots"}
    assert changes[1].body["sku"] == "S2-NEW" and "external_id" not in changes[1].body


def test_new_variant_of_a_known_product_is_added_to_it():
    before = product("p1", "Boots", variant("v1", "S1"))
    after = product("p1", "Boots", variant("v1", "S1"), variant("v9", "S9"))
    (change,) = diff_products([after], accepted(before), complete=True).changes
    assert (change.entity, change.external_id, change.action) == ("product", "p1", "add_variants")
    assert [v["external_id"] for v in change.body["variants"]] == ["v9"]


def test_deleted_product_discontinues_its_variants_and_keeps_its_title():
    before = product("p1", "Boots", variant("v1", "S1"))
    deleted = DesiredProduct({"external_id": "p1", "title": None, "slug": None},
                             (variant("v1", "S1", status=DISCONTINUED),))
    changes = diff_products([deleted], accepted(before), complete=True).changes
    assert [(c.entity, c.action, c.body.get("status")) for c in changes] == [("variant", "discontinue", DISCONTINUED)]


def test_variant_that_left_its_product_and_products_that_vanished_are_discontinued():
    kept = product("p1", "Boots", variant("v1", "S1"), variant("v2", "S2"))
    gone = product("p2", "Hats", variant("v3", "S3"))
    now = product("p1", "Boots", variant("v1", "S1"))
    changes = diff_products([now], accepted(kept, gone), complete=True).changes
    assert sorted((c.external_id, c.action) for c in changes) == [("v2", "discontinue"), ("v3", "discontinue")]
    assert {a.hash for c in changes for a in c.accepts} == {discontinued_marker("v2"), discontinued_marker("v3")}


def test_partial_extraction_does_not_discontinue_products_it_did_not_see():
    kept = product("p1", "Boots", variant("v1", "S1"))
    other = product("p2", "Hats", variant("v3", "S3"))
    assert diff_products([kept], accepted(kept, other), complete=False).changes == []


def test_discontinued_variant_already_discontinued_is_unchanged():
    gone = DesiredProduct({"external_id": "p1", "title": None, "slug": None},
                          (variant("v1", "S1", status=DISCONTINUED),))
    state = {("product", "p1"): StateRow("x", status="live"),
             ("variant", "v1"): StateRow(discontinued_marker("v1"), "p1", DISCONTINUED)}
    assert diff_products([gone], state, complete=True).changes == []


def test_deleted_product_never_sent_is_skipped():
    gone = DesiredProduct({"external_id": "p1", "title": None, "slug": None},
                          (variant("v1", "S1", status=DISCONTINUED),))
    result = diff_products([gone], {}, complete=True)
    assert result.changes == [] and result.skipped["product"] == 1


def test_keyed_records_write_new_and_changed_and_delete_vanished_only_when_asked():
    state = {("customer", "c1"): StateRow(record_hash({"email": "a@x"})),
             ("customer", "c2"): StateRow(record_hash({"email": "b@x"})),
             ("customer", "c3"): StateRow(record_hash({"email": "c@x"}))}
    desired = [("c1", {"email": "a@x"}), ("c2", {"email": "b-new@x"}), ("c4", {"email": "d@x"})]
    result = diff_records("customer", desired, state, complete=True, write_action="upsert", delete_vanished=True)
    assert sorted((c.external_id, c.action) for c in result.changes) == [
        ("c2", "upsert"), ("c3", "delete"), ("c4", "upsert")
    ]
    kept = diff_records("customer", desired, state, complete=True, write_action="upsert")
    assert "delete" not in {c.action for c in kept.changes}


def test_a_key_twice_is_written_once():
    desired = [("SKU1@loc", {"stock_level": 1}), ("SKU1@loc", {"stock_level": 2})]
    result = diff_records("stock", desired, {}, complete=False, write_action="set")
    assert [(c.external_id, c.body) for c in result.changes] == [("SKU1@loc", {"stock_level": 1})]


def test_a_vanished_record_gets_its_replacement_body_once():
    zero = {"sku": "GONE", "stock_location_external_id": "loc", "stock_level": 0}
    state = {("stock", "GONE@loc"): StateRow(record_hash({**zero, "stock_level": 4}))}

    first = diff_records("stock", [], state, complete=True, write_action="set", vanished=lambda key: zero)
    settled = {("stock", "GONE@loc"): StateRow(first.changes[0].accepts[0].hash)}
    again = diff_records("stock", [], settled, complete=True, write_action="set", vanished=lambda key: zero)
    partial = diff_records("stock", [], state, complete=False, write_action="set", vanished=lambda key: zero)

    assert [(c.external_id, c.action, c.body) for c in first.changes] == [("GONE@loc", "set", zero)]
    assert again.changes == [] and partial.changes == []
