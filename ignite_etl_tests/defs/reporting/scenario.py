"""A known state of three connections, written with plain SQL, that the reporting views must describe.

- `test-alpha`: healthy. Synced fully 2 h ago, 3 open errors (one resolved), 3 pending changes
  received 10 minutes ago, no dead letters, every write of the last day accepted, drift 4.
- `test-beta`: in trouble. Its last good full sync was 30 h ago and the latest one failed, a change
  has waited 2 h, 2 dead letters, and its last load had half its writes refused.
- `live-gamma`: pending (never completed connecting), nothing else.
"""

from __future__ import annotations

from ignite_etl.store.connections import save_connection
from ignite_etl.store.database import connect

ALPHA, BETA, GAMMA = "test-alpha", "test-beta", "live-gamma"


def build(database_url: str, cipher) -> None:
    with connect(database_url) as conn:
        for env, site, status in (("test", "alpha", "connected"), ("test", "beta", "connected"), ("live", "gamma", "pending")):
            save_connection(conn, cipher, site_env=env, site_id=site, platform="marketplacer", status=status,
                            sparklayer_credentials={"client_id": "id", "client_secret": "secret"},
                            platform_config={}, platform_secrets={})
        conn.execute(
            """
            insert into sync_run (connection_id, sync_id, data_type, kind, started_at, finished_at, succeeded) values
              ('test-alpha', 'a1', 'products', 'full', now() - interval '31 hours', now() - interval '30 hours', true),
              ('test-alpha', 'a2', 'products', 'full', now() - interval '3 hours', now() - interval '2 hours', true),
              ('test-alpha', 'p1', 'products', 'partial', now() - interval '50 minutes', null, null),
              ('test-beta', 'b1', 'products', 'full', now() - interval '31 hours', now() - interval '30 hours', true),
              ('test-beta', 'b2', 'products', 'full', now() - interval '2 hours', now() - interval '1 hour', false)
            """
        )
        conn.execute(
            """
            insert into sync_error (connection_id, data_type, external_id, entity, message, resolution,
                                    first_seen_at, last_seen_at, attempts, resolved_at) values
              ('test-alpha', 'products', 'variant:1', 'variant', 'The variant has no SKU', 'Give it a SKU in Marketplacer',
               now() - interval '3 days', now() - interval '2 hours', 3, null),
              ('test-alpha', 'products', 'product:2', 'product', 'SparkLayer refused product 2: title too long',
               'Shorten the title in Marketplacer', now() - interval '2 hours', now() - interval '2 hours', 1, null),
              ('test-alpha', 'customers', 'customer:a@example.com', 'customer', 'The customer has no last name',
               'Add a surname to the buyer', now() - interval '1 day', now() - interval '2 hours', 2, null),
              ('test-alpha', 'products', 'variant:9', 'variant', 'old problem', null,
               now() - interval '5 days', now() - interval '4 days', 1, now() - interval '3 days')
            """
        )
        conn.execute(
            """
            insert into change_queue (connection_id, entity_type, entity_id, event, idempotency_key, received_at,
                                      status, attempts, not_before, last_error, processed_at) values
              ('test-alpha', 'product', 'A1', 'update', 'k1', now() - interval '10 minutes', 'pending', 0, now(), null, null),
              ('test-alpha', 'variant', 'V1', 'update', 'k2', now() - interval '5 minutes', 'pending', 0, now(), null, null),
              ('test-alpha', 'variant', 'V2', 'update', 'k3', now() - interval '1 minute', 'pending', 1, now(), 'HTTP 503', null),
              ('test-alpha', 'product', 'A2', 'update', 'k4', now() - interval '40 minutes', 'done', 0, now(), null, now() - interval '30 minutes'),
              ('test-beta', 'product', 'B1', 'update', 'k5', now() - interval '2 hours', 'pending', 2, now(), 'HTTP 503', null),
              ('test-beta', 'variant', 'BV1', 'update', 'k6', now() - interval '6 hours', 'dead', 8, now() - interval '1 hour',
               'SparkLayer answered 503 Service Unavailable', now() - interval '1 hour'),
              ('test-beta', 'order', 'I1', 'create', 'k7', now() - interval '5 hours', 'dead', 8, now() - interval '2 hours',
               null, null)
            """
        )
        conn.execute(
            """
            insert into sync_state (connection_id, entity, external_id, parent_external_id, hash, status) values
              ('test-alpha', 'product', 'A1', null, 'h', 'live'), ('test-alpha', 'product', 'A2', null, 'h', 'live'),
              ('test-alpha', 'variant', 'V1', 'A1', 'h', 'live'), ('test-alpha', 'variant', 'V2', 'A1', 'h', 'live'),
              ('test-alpha', 'variant', 'V3', 'A2', 'h', 'discontinued'),
              ('test-alpha', 'stock', 'S1@m', null, 'h', null), ('test-alpha', 'customer', 'a@example.com', null, 'h', null),
              ('test-alpha', 'setting', 'baseCurrency', null, 'h', null),
              ('test-beta', 'product', 'B1', null, 'h', 'live')
            """
        )
        conn.execute(
            """
            insert into load_outcome (connection_id, sync_id, kind, data_type, load, attempted, succeeded, failed,
                                      unannounced, recorded_at) values
              ('test-alpha', 'a1', 'full', 'products', 'sparklayer_products', 100, 90, 10, null, now() - interval '30 hours'),
              ('test-alpha', 'a2', 'reconcile', 'products', 'sparklayer_products', 10, 10, 0, 3, now() - interval '2 hours'),
              ('test-alpha', 'a2', 'reconcile', 'stock', 'sparklayer_stock', 10, 10, 0, 1, now() - interval '2 hours'),
              ('test-alpha', 'p1', 'partial', 'products', 'partial_sync', 5, 5, 0, null, now() - interval '50 minutes'),
              ('test-beta', 'b2', 'full', 'products', 'sparklayer_products', 10, 5, 5, 0, now() - interval '70 minutes'),
              ('test-beta', 'b2', 'full', 'stock', 'sparklayer_stock', 0, 0, 0, 0, now() - interval '70 minutes')
            """
        )
        conn.execute(
            """
            insert into sync_failure (run_id, connection_id, sync_id, job_name, message, failed_at) values
              ('run-b2', 'test-beta', 'b2', 'full_sync', 'SparkLayer could not be reached', now() - interval '1 hour')
            """
        )
