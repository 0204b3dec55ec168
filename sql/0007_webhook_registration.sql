-- What the platform's webhooks were registered with, beside their signing key (webhook_secret): the
-- platform's own bookkeeping (ids, the instance and a fingerprint of the API key they were made with),
-- so a reconnect with another key or URL retires them (Marketplacer has no delete: webhookUpdate
-- disables them). Plain JSON, no secrets.
alter table connection add column webhook_state jsonb not null default '{}'::jsonb;
