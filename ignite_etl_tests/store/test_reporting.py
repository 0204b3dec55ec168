"""The reporting views describe exactly the state they report on."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

from ignite_etl.store import reporting
from ignite_etl.store.database import connect
from ignite_etl_tests.defs.reporting import scenario


def near(value: datetime | None, hours_ago: float) -> bool:
    return value is not None and abs(datetime.now(timezone.utc) - value - timedelta(hours=hours_ago)) < timedelta(minutes=5)


def test_sync_errors_lists_open_problems_and_dead_letters(database_url, cipher):
    scenario.build(database_url, cipher)

    with connect(database_url) as conn:
        rows = reporting.sync_errors(conn)

    assert [(r["connection_id"], r["external_id"], r["dead_letter"], r["attempts"]) for r in rows] == [
        ("test-alpha", "customer:a@example.com", False, 2),
        ("test-alpha", "product:2", False, 1),
        ("test-alpha", "variant:1", False, 3),
        ("test-beta", "BV1", True, 8),
        ("test-beta", "I1", True, 8),
    ]
    by_id = {r["external_id"]: r for r in rows}
    assert by_id["variant:1"]["message"] == "The variant has no SKU"
    assert by_id["variant:1"]["resolution"] == "Give it a SKU in Marketplacer"
    assert near(by_id["variant:1"]["first_seen_at"], 72) and near(by_id["variant:1"]["last_seen_at"], 2)
    assert by_id["BV1"]["message"] == "SparkLayer answered 503 Service Unavailable"
    assert by_id["BV1"]["data_type"] == "products" and by_id["I1"]["data_type"] == "purchases"
    assert "ignite-etl replay test-beta" in by_id["BV1"]["resolution"]
    assert by_id["I1"]["message"] == "The change could not be synced"
    assert near(by_id["BV1"]["first_seen_at"], 6) and near(by_id["BV1"]["last_seen_at"], 1)
    assert set(rows[0]) == set(reporting.SYNC_ERROR_COLUMNS)


def test_sync_health_summarises_each_connection(database_url, cipher):
    scenario.build(database_url, cipher)

    with connect(database_url) as conn:
        rows = {r["connection_id"]: r for r in reporting.sync_health(conn)}
    assert list(rows) == ["live-gamma", "test-alpha", "test-beta"]
    alpha, beta, gamma = rows["test-alpha"], rows["test-beta"], rows["live-gamma"]

    assert near(alpha["last_full_sync"], 2) and alpha["last_full_sync_succeeded"] is True
    assert near(alpha["last_partial_sync"], 0.5)  # the change processed 30 minutes ago
    assert alpha["open_errors"] == 3
    assert alpha["open_errors_by_entity"] == {"customer": 1, "product": 1, "variant": 1}
    assert (alpha["queue_depth"], alpha["dead_letters"]) == (3, 0)
    assert near(alpha["oldest_pending_at"], 10 / 60)
    assert alpha["records_in_sparklayer"] == 6
    assert alpha["records_by_entity"] == {"customer": 1, "product": 2, "stock": 1, "variant": 2}
    assert (alpha["writes_last_day"], alpha["write_success_rate_last_day"]) == (25, Decimal("1.0000"))
    assert (alpha["last_load_writes"], alpha["last_load_failed"]) == (5, 0)
    assert alpha["last_reconcile_drift"] == 4
    assert alpha["last_failed_run_at"] is None

    assert near(beta["last_full_sync"], 30) and beta["last_full_sync_succeeded"] is False
    assert beta["last_partial_sync"] is None
    assert (beta["open_errors"], beta["queue_depth"], beta["dead_letters"]) == (0, 1, 2)
    assert near(beta["oldest_pending_at"], 2)
    assert beta["write_success_rate_last_day"] == Decimal("0.5000")
    assert beta["last_load_error_rate"] == Decimal("0.5000")
    assert beta["last_failed_run_id"] == "run-b2" and beta["last_failure"] == "SparkLayer could not be reached"

    assert gamma["status"] == "pending"
    assert (gamma["last_full_sync"], gamma["open_errors"], gamma["queue_depth"], gamma["records_in_sparklayer"]) == (
        None, 0, 0, 0)
    assert gamma["write_success_rate_last_day"] is None and gamma["last_load_error_rate"] is None

