-- A connect link calls the URL the merchant typed, so it is a way to make us send requests: it allows a
-- few checks in all, one at a time (`checking_until` holds it while a check runs), and stops working for
-- good once its connection completes by any path (the rows are deleted then).
alter table connect_token add column attempts integer not null default 0;
alter table connect_token add column checking_until timestamptz;
