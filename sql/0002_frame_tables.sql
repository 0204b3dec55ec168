-- Registry of the tables that hold asset DataFrames (one table per asset, in a schema named after
-- its asset group). Every such table has `connection_id text not null` first; removing a
-- connection deletes its rows from each table listed here.

create table frame_table (
    schema_name text not null,
    table_name  text not null,
    created_at  timestamptz not null default now(),
    primary key (schema_name, table_name)
);
