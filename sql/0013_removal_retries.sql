-- A removal that fails is retried by the lifecycle sensor with a growing wait (it stayed `removing` for
-- ever, with every webhook for it acknowledged and dropped): `attempts` counts the failed removal runs of
-- the request and `not_before` is when the next may start. sync_health shows both.
alter table connection_request add column attempts integer not null default 0;
alter table connection_request add column not_before timestamptz;

-- The same view, with three columns added at the end (removal_failures, removal_retry_at,
-- removal_last_outcome), and records whose create is only intended (sync_state status 'creating', written
-- before the create is sent) no longer counted as records in SparkLayer.
create or replace view reporting.sync_health as
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
            and coalesce(status, 'live') not in ('discontinued', 'creating')
          group by connection_id, entity) s
    group by connection_id
),
failures as (
    select distinct on (connection_id) connection_id, run_id, failed_at, message
    from sync_failure order by connection_id, failed_at desc
),
removals as (
    select distinct on (connection_id) connection_id, attempts, not_before, outcome
    from connection_request where kind = 'remove' and finished_at is null
    order by connection_id, id desc
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
       fl.message as last_failure,
       coalesce(rm.attempts, 0) as removal_failures,
       rm.not_before as removal_retry_at,
       case when rm.attempts > 0 then rm.outcome end as removal_last_outcome
from connection c
left join full_syncs f on f.connection_id = c.id
left join partial_syncs p on p.connection_id = c.id
left join queue q on q.connection_id = c.id
left join errors_by_entity e on e.connection_id = c.id
left join records r on r.connection_id = c.id
left join day_totals d on d.connection_id = c.id
left join last_load_totals l on l.connection_id = c.id
left join drift_totals dr on dr.connection_id = c.id
left join failures fl on fl.connection_id = c.id
left join removals rm on rm.connection_id = c.id;
