-- A platform's privacy requests (Shopify's mandatory compliance webhooks: a customer's data request, a
-- customer's redaction, a store's redaction 48 hours after uninstall), one row per request, so an operator
-- can show what was asked and when it was done. Only ids are kept: no customer's name, email or address.
create table privacy_request (
    id               bigserial primary key,
    platform         text not null,
    store_id         text not null,
    kind             text not null check (kind in ('customer_data_request', 'customer_redact', 'store_redact')),
    customer_id      text,
    idempotency_key  text not null unique,
    received_at      timestamptz not null default now(),
    done_at          timestamptz
);
