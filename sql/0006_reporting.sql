-- What the operator and the analysts read: write outcomes per load (success rate, drift), failed
-- sync runs, and two views over the app tables, `reporting.sync_errors` and `reporting.sync_health`.

-- One row per SparkLayer load of a sync: how many writes were attempted and accepted, and (for
-- full syncs) how many of them no webhook had announced since the previous full sync (drift).
create table load_outcome (
    id              bigserial primary key,
    connection_id   text not null,
    sync_id         text not null,                  -- Dagster root run id
    kind            text not null check (kind in ('full', 'reconcile', 'partial')),
    data_type       text not null,
    load            text not null,                  -- the asset that wrote, e.g. 'sparklayer_stock'
    attempted       integer not null,
    succeeded       integer not null,
    failed          integer not null,
    unannounced     integer,                        -- null: nothing to compare with (first sync, partial sync)
    recorded_at     timestamptz not null default now()
);
create index load_outcome_recent on load_outcome (connection_id, recorded_at desc);

-- Sync runs that failed or crashed, as the run-failure sensor saw them.
create table sync_failure (
    run_id          text primary key,
    connection_id   text not null,
    sync_id         text not null,
    job_name        text not null,
    message         text,
    failed_at       timestamptz not null default now()
);
create index sync_failure_recent on sync_failure (connection_id, failed_at desc);

create schema if not exists reporting;

-- Every open problem across connections: records the sync log reports, and queued changes that
-- ran out of attempts (dead letters, replayed with `ignite-etl replay`).
create view reporting.sync_errors as
select e.connection_id, e.data_type, e.entity, e.external_id, e.visible_id, e.message,
       e.resolution, e.first_seen_at, e.last_seen_at, e.attempts, false as dead_letter
from sync_error e
where e.resolved_at is null
union all
select q.connection_id,
       case q.entity_type when 'invoice' then 'purchases' else 'products' end,
       q.entity_type, q.entity_id, null,
       coalesce(q.last_error, 'The change could not be synced'),
       'Fix the cause (often SparkLayer or the store being unreachable), then run: ignite-etl replay '
           || q.connection_id,
       q.received_at, coalesce(q.processed_at, q.not_before, q.received_at), q.attempts, true
from change_queue q
where q.status = 'dead';

-- One row per connection: how its syncs are doing. `last_full_sync` is the last one that succeeded;
-- `last_full_sync_succeeded` says whether the latest one (failed runs included) did.
create view reporting.sync_health as
with full_syncs as (
    select connection_id,
           max(finished_at) filter (where succeeded) as last_succeeded_at,
           (array_agg(succeeded order by finished_at desc))[1] as latest_succeeded
    from sync_run
    where kind = 'full' and finished_at is not null
    group by connection_id
),
last_load as (
    select distinct on (connection_id) connection_id, sync_id
    from load_outcome order by connection_id, recorded_at desc, id desc
),
last_load_totals as (
    select o.connection_id, sum(o.attempted)::int as attempted, sum(o.failed)::int as failed
    from load_outcome o join last_load l using (connection_id, sync_id)
    group by o.connection_id
),
last_drift as (
    select distinct on (connection_id) connection_id, sync_id
    from load_outcome where unannounced is not null
    order by connection_id, recorded_at desc, id desc
),
drift_totals as (
    select o.connection_id, sum(o.unannounced)::int as unannounced
    from load_outcome o join last_drift d using (connection_id, sync_id)
    group by o.connection_id
),
day_totals as (
    select connection_id, sum(attempted)::int as attempted, sum(succeeded)::int as succeeded
    from load_outcome where recorded_at > now() - interval '1 day'
    group by connection_id
),
errors_by_entity as (
    select connection_id, jsonb_object_agg(entity, n order by entity) as by_entity, sum(n)::int as total
    from (select connection_id, entity, count(*)::int as n from sync_error
          where resolved_at is null group by connection_id, entity) e
    group by connection_id
),
queue as (
    select connection_id,
           count(*) filter (where status = 'pending')::int as depth,
           min(received_at) filter (where status = 'pending') as oldest_pending_at,
           count(*) filter (where status = 'dead')::int as dead_letters,
           max(processed_at) filter (where status = 'done') as last_processed_at
    from change_queue group by connection_id
),
partial_syncs as (
    select connection_id, max(started_at) as started_at from sync_run where kind = 'partial' group by connection_id
),
records as (
    select connection_id, jsonb_object_agg(entity, n order by entity) as by_entity, sum(n)::int as total
    from (select connection_id, entity, count(*)::int as n from sync_state
          where entity in ('product', 'variant', 'customer', 'stock', 'price')
            and coalesce(status, 'live') <> 'discontinued'
          group by connection_id, entity) s
    group by connection_id
),
failures as (
    select distinct on (connection_id) connection_id, run_id, failed_at, message
    from sync_failure order by connection_id, failed_at desc
)
select c.id as connection_id,
       c.platform,
       c.status,
       f.last_succeeded_at as last_full_sync,
       f.latest_succeeded as last_full_sync_succeeded,
       greatest(p.started_at, q.last_processed_at) as last_partial_sync,
       coalesce(e.total, 0) as open_errors,
       coalesce(e.by_entity, '{}'::jsonb) as open_errors_by_entity,
       coalesce(q.depth, 0) as queue_depth,
       q.oldest_pending_at,
       coalesce(q.dead_letters, 0) as dead_letters,
       coalesce(r.total, 0) as records_in_sparklayer,
       coalesce(r.by_entity, '{}'::jsonb) as records_by_entity,
       coalesce(d.attempted, 0) as writes_last_day,
       case when d.attempted > 0 then round(d.succeeded::numeric / d.attempted, 4) end as write_success_rate_last_day,
       coalesce(l.attempted, 0) as last_load_writes,
       coalesce(l.failed, 0) as last_load_failed,
       case when l.attempted > 0 then round(l.failed::numeric / l.attempted, 4) end as last_load_error_rate,
       dr.unannounced as last_reconcile_drift,
       fl.failed_at as last_failed_run_at,
       fl.run_id as last_failed_run_id,
       fl.message as last_failure
from connection c
left join full_syncs f on f.connection_id = c.id
left join partial_syncs p on p.connection_id = c.id
left join queue q on q.connection_id = c.id
left join errors_by_entity e on e.connection_id = c.id
left join records r on r.connection_id = c.id
left join day_totals d on d.connection_id = c.id
left join last_load_totals l on l.connection_id = c.id
left join drift_totals dr on dr.connection_id = c.id
left join failures fl on fl.connection_id = c.id;
