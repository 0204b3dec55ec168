"""`sync_errors` and `sync_health`: every open problem and every connection's state, for analysts.

Both read the `reporting.*` views (sql/0006), which analysts can also query with SQL; the assets add
a table preview and numbers to the Dagster UI. They are refreshed after sync runs and every
quarter hour by the `reporting_refresh` sensor, and on demand. The checks on `sync_health` warn
about connections whose syncs need attention.
"""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import dagster as dg

from ignite_etl.defs.reporting import health_checks
from ignite_etl.defs.resources import AppDatabase
from ignite_etl.store import reporting

REPORTING = "reporting"
PREVIEW_ROWS = 100
SYNC_LOADS = [
    dg.AssetKey(name) for name in (
        "sparklayer_products", "sparklayer_stock", "sparklayer_prices", "sparklayer_customers", "sparklayer_settings",
        "sparklayer_sync_log",
    )
]

_ERROR_COLUMNS = [
    ("connection_id", "string"), ("data_type", "string"), ("entity", "string"), ("external_id", "string"),
    ("visible_id", "string"), ("message", "string"), ("resolution", "string"), ("first_seen_at", "timestamp"),
    ("last_seen_at", "timestamp"), ("attempts", "int"), ("dead_letter", "bool"),
]
_HEALTH_COLUMNS = [
    ("connection_id", "string"), ("status", "string"), ("last_full_sync", "timestamp"),
    ("last_full_sync_succeeded", "bool"), ("last_partial_sync", "timestamp"), ("open_errors", "int"),
    ("open_errors_by_entity", "json"), ("queue_depth", "int"), ("oldest_pending_at", "timestamp"),
    ("dead_letters", "int"), ("records_in_sparklayer", "int"), ("records_by_entity", "json"),
    ("write_success_rate_last_day", "float"), ("writes_last_day", "int"), ("last_load_error_rate", "float"),
    ("last_reconcile_drift", "int"), ("last_failed_run_at", "timestamp"), ("last_failure", "string"),
]


def _plain(value: Any) -> Any:
    """A value a table record or JSON metadata can hold."""
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in sorted(value.items())) or None
    return value


def table(rows: list[dict], columns: list[tuple[str, str]]) -> dg.MetadataValue:
    return dg.MetadataValue.table(
        records=[dg.TableRecord({name: _plain(row.get(name)) for name, _ in columns}) for row in rows[:PREVIEW_ROWS]],
        schema=dg.TableSchema(columns=[dg.TableColumn(name, kind) for name, kind in columns]),
    )


@dg.asset(
    group_name=REPORTING,
    deps=SYNC_LOADS,
    kinds={"postgres"},
    description="Every open sync problem across connections: the records the sync log reports (with what the "
    "merchant should do) and the changes that ran out of attempts (dead letters). SQL: reporting.sync_errors.",
)
def sync_errors(context: dg.AssetExecutionContext, app_db: AppDatabase) -> dg.MaterializeResult:
    with app_db.connect() as conn:
        rows = reporting.sync_errors(conn)
    by_connection: dict[str, int] = {}
    for row in rows:
        by_connection[row["connection_id"]] = by_connection.get(row["connection_id"], 0) + 1
    dead = sum(1 for r in rows if r["dead_letter"])
    context.log.info("%d open problem(s), %d dead letter(s), in %d connection(s)", len(rows), dead, len(by_connection))
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": len(rows),
            "open_problems": len(rows),
            "dead_letters": dead,
            "by_connection": dg.MetadataValue.json(by_connection),
            "preview": table(rows, _ERROR_COLUMNS),
            "sql": dg.MetadataValue.md("`select * from reporting.sync_errors`"),
        }
    )


class SyncHealthConfig(dg.Config):
    error_rate_threshold: float = 0.05
    """Warn when more than this share of a connection's last load was refused."""
    full_sync_max_age_hours: float = 26
    queue_max_age_minutes: float = 60


@dg.asset(
    group_name=REPORTING,
    deps=SYNC_LOADS,
    kinds={"postgres"},
    check_specs=[
        dg.AssetCheckSpec(name, asset="sync_health", description=description)
        for name, description in health_checks.CHECK_DESCRIPTIONS.items()
    ],
    description="Per connection: last full and partial sync, open errors by entity, queue depth, dead letters, "
    "records in SparkLayer, write success rate over the last day, drift found by the last reconcile, last "
    "failed run. SQL: reporting.sync_health.",
)
def sync_health(
    context: dg.AssetExecutionContext, config: SyncHealthConfig, app_db: AppDatabase
) -> dg.MaterializeResult:
    with app_db.connect() as conn:
        rows = reporting.sync_health(conn)
        now = reporting.database_now(conn)
    thresholds = health_checks.Thresholds(
        error_rate=config.error_rate_threshold,
        full_sync_max_age=timedelta(hours=config.full_sync_max_age_hours),
        queue_max_age=timedelta(minutes=config.queue_max_age_minutes),
    )
    outcomes = health_checks.evaluate(rows, now, thresholds)
    for outcome in outcomes:
        if outcome.failing:
            context.log.warning("%s: %s", outcome.name, "; ".join(f"{k}: {v}" for k, v in outcome.failing.items()))
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": len(rows),
            "connections": len(rows),
            "queue_depth": sum(r["queue_depth"] for r in rows),
            "dead_letters": sum(r["dead_letters"] for r in rows),
            "open_errors": sum(r["open_errors"] for r in rows),
            "preview": table(rows, _HEALTH_COLUMNS),
            "sql": dg.MetadataValue.md("`select * from reporting.sync_health`"),
        },
        check_results=[
            dg.AssetCheckResult(
                check_name=outcome.name,
                passed=outcome.passed,
                severity=dg.AssetCheckSeverity.WARN,
                description=(f"{len(outcome.failing)} connection(s) need attention" if outcome.failing
                             else "every connected store is fine"),
                metadata={
                    "failing_connections": dg.MetadataValue.json(outcome.failing),
                    "per_connection": dg.MetadataValue.json({k: _plain(v) for k, v in outcome.values.items()}),
                    "checked_at": now.astimezone(UTC).isoformat(),
                },
            )
            for outcome in outcomes
        ],
    )
