"""The connection lifecycle in Dagster: the inbox sensor, connection completion and removal."""
