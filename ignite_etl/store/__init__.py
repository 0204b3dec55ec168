"""Postgres access for the app database: connecting, migrations, stored credentials."""

from ignite_etl.store.database import connect, check_database

__all__ = ["connect", "check_database"]
