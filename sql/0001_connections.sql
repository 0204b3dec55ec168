-- Connections between a SparkLayer site and a platform store, and the inbox of SparkLayer's
-- connection calls that the lifecycle sensor turns into work.

create table connection (
    id                          text primary key,          -- '{site_env}-{site_id}', also the Dagster partition key
    site_env                    text not null check (site_env in ('live', 'test')),
    site_id                     text not null,
    platform                    text not null,
    status                      text not null default 'pending' check (status in ('pending', 'connected')),
    store_id                    text,
    platform_config             jsonb not null default '{}'::jsonb,  -- non-secret extra_config (API URL, currency)
    sparklayer_credentials      bytea,                      -- encrypted {client_id, client_secret}
    platform_credentials        bytea,                      -- encrypted platform secrets (e.g. marketplacer_api_key)
    sparklayer_token            bytea,                      -- encrypted access token, reused across runs
    sparklayer_token_expires_at timestamptz,
    webhook_secret              bytea,                      -- encrypted HMAC key the platform signs webhooks with
    created_at                  timestamptz not null default now(),
    updated_at                  timestamptz not null default now(),
    unique (site_env, site_id)
);

create table connection_request (
    id              bigserial primary key,
    connection_id   text not null,
    kind            text not null check (kind in ('connect', 'remove', 'trigger')),
    sync_data_type  text,
    body            bytea,                                  -- encrypted request body: it may carry credentials
    received_at     timestamptz not null default now(),
    processed_at    timestamptz,
    outcome         text
);

create index connection_request_pending on connection_request (id) where processed_at is null;
create index connection_request_by_connection on connection_request (connection_id, id);
