"""Postgres access for the app database: connecting, migrations, stored credentials."""

from ignite_etl.store.database import Database, check_database, connect

__all__ = ["Database", "check_database", "connect"]
