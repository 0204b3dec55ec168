-- A partial sync closes each data type's sync log with one PATCH (last_partial_sync and the errors its
-- writes resolved). The close is recorded before the writes and deleted only once the PATCH was
-- accepted, so a close that fails (SparkLayer down) or is cut off by a crash after the queue rows were
-- settled is sent by the connection's next sync instead of never.
create table sync_log_pending_close (
    connection_id   text not null,
    data_type       text not null,
    since           timestamptz not null default now(),
    primary key (connection_id, data_type)
);
