-- Queue rows name canonical entity types (product, variant, stock, customer, order, settings), as every
-- platform's webhooks are read into them, instead of one platform's object names.
update change_queue set entity_type = case entity_type
    when 'advert' then 'product'
    when 'invoice' then 'order'
    else entity_type end
where entity_type in ('advert', 'invoice');

create or replace view reporting.sync_errors as
select e.connection_id, e.data_type, e.entity, e.external_id, e.visible_id, e.message,
       e.resolution, e.first_seen_at, e.last_seen_at, e.attempts, false as dead_letter
from sync_error e
where e.resolved_at is null
union all
select q.connection_id,
       case q.entity_type when 'order' then 'purchases' when 'customer' then 'customers' else 'products' end,
       q.entity_type, q.entity_id, null,
       coalesce(q.last_error, 'The change could not be synced'),
       'Fix the cause (often SparkLayer or the store being unreachable), then run: ignite-etl replay '
           || q.connection_id,
       q.received_at, coalesce(q.processed_at, q.not_before, q.received_at), q.attempts, true
from change_queue q
where q.status = 'dead';
