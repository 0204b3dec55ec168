-- What SparkLayer last accepted, per record, and the bookkeeping of sync-log markers and errors.

-- One row per record SparkLayer accepted: the hash of the fields we sent. A record whose hash
-- differs from its current one is "changed"; a refused record never gets a row advanced, so it is
-- changed again on the next sync and retried without extra bookkeeping.
create table sync_state (
    connection_id       text not null,
    entity              text not null check (entity in ('product', 'variant', 'stock', 'price', 'customer', 'setting', 'price_list')),
    external_id         text not null,
    parent_external_id  text,                       -- a variant's product
    hash                text not null,
    status              text,                       -- live / discontinued for products and variants
    sparklayer_id       text,
    written_at          timestamptz not null default now(),
    primary key (connection_id, entity, external_id)
);
create index sync_state_by_parent on sync_state (connection_id, entity, parent_external_id)
    where parent_external_id is not null;

-- One row per (sync, data type): when the full-sync PUT and the closing last_full_sync PATCH were
-- sent, so a sync retried after a crash (same root run) sends neither early nor twice.
create table sync_run (
    connection_id     text not null,
    sync_id           text not null,                -- Dagster root run id: stable across retries
    data_type         text not null check (data_type in ('products', 'customers', 'stock', 'purchases')),
    kind              text not null check (kind in ('full', 'partial')),
    started_at        timestamptz not null default now(),
    start_sent_at     timestamptz,
    finished_at       timestamptz,
    succeeded         boolean,
    primary key (connection_id, sync_id, data_type)
);
create index sync_run_latest on sync_run (connection_id, data_type, finished_at desc);

-- Open and resolved problems per record, as reported to the sync log: the analyst's view and the
-- source of resolved ids. `external_id` is the sync-log id (e.g. 'variant:123').
create table sync_error (
    connection_id   text not null,
    data_type       text not null,
    external_id     text not null,
    entity          text not null,
    message         text not null,
    resolution      text,
    visible_id      text,
    external_url    text,
    first_seen_at   timestamptz not null default now(),
    last_seen_at    timestamptz not null default now(),
    attempts        integer not null default 1,
    resolved_at     timestamptz,
    primary key (connection_id, data_type, external_id)
);
create index sync_error_open on sync_error (connection_id, data_type) where resolved_at is null;
