-- One row per platform rate-limit scope (e.g. a Marketplacer instance, a Shopify store): the earliest time
-- the next request may be sent if nothing else asks first (GCRA's "theoretical arrival time"). Every
-- worker on every machine reserves its requests here, so the platform's limit holds however many run.
create table rate_limits (
    scope text primary key,
    next_at timestamptz not null
);
