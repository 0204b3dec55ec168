-- The durable change queue: one row per distinct webhook delivery, worked off by partial syncs.
-- A webhook is only a hint of which entity changed; the partial sync re-fetches the entity, so the
-- order and number of deliveries do not matter. Duplicates are refused by the unique key.

create table change_queue (
    id                bigserial primary key,
    connection_id     text not null,
    entity_type       text not null,                 -- 'advert', 'variant', 'invoice'
    entity_id         text not null,
    event             text not null,                 -- the platform's event name
    sequence          bigint,                        -- Marketplacer-Sequence, kept for diagnosis
    idempotency_key   text not null,                 -- Idempotency-Key header, else the body id
    received_at       timestamptz not null default now(),
    status            text not null default 'pending' check (status in ('pending', 'done', 'dead')),
    attempts          integer not null default 0,    -- failed attempts that count (rate limits do not)
    not_before        timestamptz not null default now(),  -- backoff: not claimed before this
    last_error        text,
    processed_at      timestamptz,
    unique (connection_id, idempotency_key)
);

-- The sensor's and the partial sync's scan: pending rows per connection in id order.
create index change_queue_pending on change_queue (connection_id, id) where status = 'pending';
-- Replay and reporting: dead letters per connection.
create index change_queue_dead on change_queue (connection_id, received_at) where status = 'dead';

-- Purchases sent to SparkLayer's Purchasing API, one row per platform order: the hash of the whole
-- purchase last accepted, so an unchanged order is not sent again by a duplicate event or the
-- periodic pass, and the time the periodic invoices(updatedSince) pass last started from.
create table purchase_state (
    connection_id   text not null,
    order_id        text not null,                   -- the platform order id
    cart_id         text,                            -- SparkLayer cart id (lookupBy=sparklayer)
    hash            text not null,
    written_at      timestamptz not null default now(),
    primary key (connection_id, order_id)
);

create table order_pass (
    connection_id   text primary key,
    updated_since   timestamptz not null,            -- the next pass asks for invoices updated since this
    finished_at     timestamptz not null default now()
);
