"""Diffs and write outcomes as frames in the frame store: what one sync writes, the next reads back,
and an empty one does not give the table types a later full one cannot be stored in."""

from __future__ import annotations

from ignite_etl.diff import Accepted, Change
from ignite_etl.store.frames import FrameStore
from ignite_etl.sync.writer import LoadReport, WriteOutcome, changes_frame, changes_from_frame

CHANGES = [
    Change("product", "p1", "create", {"external_id": "p1", "title": "Boots", "variants": [{"external_id": "v1"}]},
           (Accepted("product", "p1", "h1", status="live"), Accepted("variant", "v1", "h2", "p1", "live"))),
    Change("variant", "v2", "discontinue", {"status": "discontinued"},
           (Accepted("variant", "v2", "h3", "p1", "discontinued"),), "p1"),
    Change("customer", "c1", "delete", None, ()),
]


def test_a_diff_reads_back_as_the_changes_that_were_stored(database_url):
    store = FrameStore(database_url, chunk_rows=2)
    store.write_slice("diff", "round_trip_changes", "conn-a", changes_frame(CHANGES))

    assert changes_from_frame(store.read_slice("diff", "round_trip_changes", "conn-a")) == CHANGES


def test_an_empty_diff_then_a_full_one_share_a_table(database_url):
    store = FrameStore(database_url)
    store.write_slice("diff", "empty_first_changes", "conn-a", changes_frame([]))
    store.write_slice("diff", "empty_first_changes", "conn-b", changes_frame(CHANGES))  # raised on a float column

    assert changes_from_frame(store.read_slice("diff", "empty_first_changes", "conn-a")) == []
    assert len(changes_from_frame(store.read_slice("diff", "empty_first_changes", "conn-b"))) == 3


def test_no_outcomes_then_some_share_a_table(database_url):
    store = FrameStore(database_url)
    store.write_slice("sparklayer", "empty_first_loads", "conn-a", LoadReport().frame())
    report = LoadReport([WriteOutcome("product", "p1", "create", True, 201, sparklayer_id="sl-1"),
                         WriteOutcome("product", "p2", "create", False, 422, "title is required")])
    store.write_slice("sparklayer", "empty_first_loads", "conn-b", report.frame())

    back = store.read_slice("sparklayer", "empty_first_loads", "conn-b")
    assert back["ok"].tolist() == [True, False]
    assert back["status_code"].tolist() == [201, 422]
    assert back["error"].tolist()[1] == "title is required"
