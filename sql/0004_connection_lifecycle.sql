-- The connection lifecycle: one-time connect-page tokens, a removal in progress, the webhook URL
-- registered with the platform, and when the work an inbox row asked for ended.

-- 'removing': DELETE was received; the lifecycle sensor cancels runs and deletes everything.
alter table connection drop constraint connection_status_check;
alter table connection add constraint connection_status_check
    check (status in ('pending', 'connected', 'removing'));

-- The URL the platform's webhooks were registered for: a repeated connect registers again only
-- when it changed (or no signing key is stored).
alter table connection add column webhook_url text;

-- An inbox row is pending while processed_at is null (the sensor has not yet seen all of its runs
-- launched) and in flight while finished_at is null (its runs have not ended). The ingress refuses
-- a trigger while a sync is in flight.
alter table connection_request add column finished_at timestamptz;
create index connection_request_in_flight on connection_request (connection_id, received_at)
    where finished_at is null;

-- The merchant completes a pending connection on /connect/{token}. Only the token's SHA-256 is
-- stored, so a database reader cannot complete someone else's connection.
create table connect_token (
    token_hash      text primary key,
    connection_id   text not null,
    created_at      timestamptz not null default now(),
    expires_at      timestamptz not null,
    used_at         timestamptz
);
create index connect_token_by_connection on connect_token (connection_id);
