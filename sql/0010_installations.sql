-- App-store installs: the platform-initiated connection flow. The platform opens /install/{platform},
-- the merchant authorises the app there, the platform calls back and we store the store's settings
-- (the secret ones encrypted with IGNITE_SECRET_KEY) until SparkLayer's connect call claims them.

-- One row per platform store that installed the app; installing again updates it.
create table installation (
    id                    bigserial primary key,
    platform              text not null,
    store_id              text not null,
    platform_config       jsonb not null default '{}',
    platform_credentials  bytea,                         -- encrypted JSON of the secret settings
    connection_id         text,                          -- {siteEnv}-{siteId} of the site registration created
    registered_email      text,
    dashboard_url         text,                          -- the site's SparkLayer dashboard, as registration said
    connect_requested_at  timestamptz,                   -- last time we asked SparkLayer to connect the store
    created_at            timestamptz not null default now(),
    updated_at            timestamptz not null default now(),
    unique (platform, store_id)
);
create index installation_by_connection on installation (connection_id) where connection_id is not null;

-- The OAuth `state` of an install in progress (its SHA-256): it ties the platform's callback to the
-- install request that started it, and works for one store, for an hour.
create table install_state (
    state_hash    text primary key,
    platform      text not null,
    store_id      text not null,
    expires_at    timestamptz not null,
    used_at       timestamptz
);

-- The merchant's links to the registration and onboarding pages (SHA-256 only). Several may be valid at
-- once (a reloaded callback issues another), so Back and Reload keep working until they expire.
create table install_page_token (
    token_hash       text primary key,
    installation_id  bigint not null references installation (id) on delete cascade,
    expires_at       timestamptz not null
);
create index install_page_token_by_installation on install_page_token (installation_id);
