"""Write-ahead intent: a crash between SparkLayer accepting a create and our state commit, followed by the
record's deletion on the platform, must not leave a live record in SparkLayer that no sync will touch."""

from __future__ import annotations

import asyncio

import pytest

from ignite_etl.diff import INTENT, DesiredProduct, diff_products, diff_records
from ignite_etl.store import sync_state
from ignite_etl.store.database import Database, connect
from ignite_etl.sync import writer as writer_module
from ignite_etl.sync.writer import ChangeWriter

from .conftest import SITE

CONNECTION_ID = "test-intent"


def product(pid: str, *, title: str | None = "A product", variant_status: str = "live") -> DesiredProduct:
    return DesiredProduct({"external_id": pid, "title": title, "slug": pid.lower()},
                          [{"external_id": f"{pid}-v", "sku": f"SKU-{pid}", "status": variant_status}])


class Crash(Exception):
    """The run worker dying between SparkLayer's answer and our commit."""


def write(make_client, database_url, changes, errors=None):
    async def report(data_type, found):
        (errors if errors is not None else []).extend(found)

    async def run():
        async with make_client() as client:
            writer = ChangeWriter(client, Database(database_url), CONNECTION_ID, price_list_slug="p",
                                  report_errors=report)
            return await writer.write(changes)

    return asyncio.run(run())


def state(database_url):
    with connect(database_url) as conn:
        return sync_state.load_state(conn, CONNECTION_ID, ["product", "variant", "customer"])


def crash_after_sending(monkeypatch):
    def advance(*args, **kwargs):
        raise Crash()

    monkeypatch.setattr(writer_module.sync_state, "advance", advance)


@pytest.mark.parametrize("deleted_as", ["vanished", "reported deleted"])
def test_a_product_created_just_before_a_crash_and_then_deleted_is_discontinued(
        make_client, sandbox, database_url, monkeypatch, deleted_as):
    with monkeypatch.context() as patched:
        crash_after_sending(patched)
        with pytest.raises(Crash):
            write(make_client, database_url, diff_products([product("P1")], {}, complete=True).changes)
    assert sandbox.state("test", SITE)["variants"]["P1-v"]["status"] == "live"  # SparkLayer has it
    assert {k: r.status for k, r in state(database_url).items()} == {("product", "P1"): INTENT,
                                                                     ("variant", "P1-v"): INTENT}

    desired = [] if deleted_as == "vanished" else [product("P1", title=None, variant_status="discontinued")]
    changes = diff_products(desired, state(database_url), complete=True).changes
    report = write(make_client, database_url, changes)

    assert [(c.entity, c.action) for c in changes] == [("variant", "discontinue")]
    assert report.failed == 0
    assert sandbox.state("test", SITE)["variants"]["P1-v"]["status"] == "discontinued"


def test_an_intent_whose_create_never_left_is_settled_without_an_error(make_client, sandbox, database_url):
    with connect(database_url) as conn:  # the crash came after the intent commit, before the create was sent
        sync_state.record_intent(conn, CONNECTION_ID, diff_products([product("P2")], {}, complete=True)
                                 .changes[0].accepts)
    errors: list = []

    report = write(make_client, database_url, diff_products([], state(database_url), complete=True).changes, errors)

    assert report.failed == 0 and errors == []
    assert "P2-v" not in sandbox.state("test", SITE)["variants"]
    assert ("variant", "P2-v") not in state(database_url)


def test_a_product_still_on_the_platform_is_created_again_after_the_crash(
        make_client, sandbox, database_url, monkeypatch):
    with monkeypatch.context() as patched:
        crash_after_sending(patched)
        with pytest.raises(Crash):
            write(make_client, database_url, diff_products([product("P3")], {}, complete=True).changes)

    changes = diff_products([product("P3")], state(database_url), complete=True).changes
    report = write(make_client, database_url, changes)

    assert [(c.entity, c.action) for c in changes] == [("product", "create")]  # a 409 becomes an update
    assert report.failed == 0
    assert {k: r.status for k, r in state(database_url).items()} == {("product", "P3"): "live",
                                                                     ("variant", "P3-v"): "live"}
    assert diff_products([product("P3")], state(database_url), complete=True).changes == []


def test_a_customer_upserted_just_before_a_crash_and_then_deleted_is_deleted(
        make_client, sandbox, database_url, monkeypatch):
    body = {"external_id": "C1", "email": "c1@example.com", "first_name": "Ada", "last_name": "L"}
    with monkeypatch.context() as patched:
        crash_after_sending(patched)
        with pytest.raises(Crash):
            write(make_client, database_url,
                  diff_records("customer", [("C1", body)], {}, complete=True, write_action="upsert",
                               delete_vanished=True).changes)
    assert "C1" in sandbox.state("test", SITE)["customers"]

    changes = diff_records("customer", [], state(database_url), complete=True, write_action="upsert",
                           delete_vanished=True).changes
    write(make_client, database_url, changes)

    assert [(c.entity, c.action) for c in changes] == [("customer", "delete")]
    assert "C1" not in sandbox.state("test", SITE)["customers"]
    assert state(database_url) == {}
