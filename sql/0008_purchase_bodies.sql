-- The purchase last accepted by SparkLayer for each order, whole, so SparkLayer's list-entities call
-- (GET /v1/{siteEnv}/{siteId}/sync/purchases) can answer with what we built. Rows written before this
-- have none until their order next changes.
alter table purchase_state add column body jsonb;
create index purchase_state_by_connection on purchase_state (connection_id, order_id);
