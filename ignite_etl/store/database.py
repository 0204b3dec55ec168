"""One way to open a connection to the app database, with errors an operator can act on."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, TypeAlias
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from ignite_etl.errors import DatabaseUnavailable

Row: TypeAlias = dict[str, Any]
Conn: TypeAlias = psycopg.Connection[Row]
"""A connection to the app database: rows are dicts."""
AsyncConn: TypeAlias = psycopg.AsyncConnection[Row]


def one(row: Row | None) -> Row:
    """The row of a query that always returns one (an aggregate, an insert ... returning, a row just locked)."""
    if row is None:
        raise RuntimeError("the query returned no row")
    return row


@dataclass(frozen=True)
class Database:
    """The app database, handed to the code that reads and writes it (rather than a URL each opens itself)."""

    url: str = field(repr=False)

    def connect(self, *, autocommit: bool = False) -> Conn:
        return connect(self.url, autocommit=autocommit)

    def __repr__(self) -> str:
        return f"Database({redact_url(self.url)!r})"


def connect(url: str, *, autocommit: bool = False, connect_timeout: int = 5) -> Conn:
    """Open a psycopg connection whose rows are dicts.

    Raises DatabaseUnavailable with one line naming the server (never the password).
    """
    try:
        return psycopg.connect(libpq_url(url), autocommit=autocommit, row_factory=dict_row,
                               connect_timeout=connect_timeout)
    except psycopg.ProgrammingError:
        raise DatabaseUnavailable(
            "the database URL is not a valid PostgreSQL URL; expected postgresql://user:password@host:port/dbname"
        ) from None
    except psycopg.OperationalError as exc:
        raise DatabaseUnavailable(
            f"cannot reach the database at {redact_url(url)}: {_first_line(exc)}. "
            "Check that the server runs and IGNITE_DATABASE_URL is right, or unset it to use the embedded server."
        ) from None


@contextlib.contextmanager
def advisory_lock(conn: Conn, name: str) -> Iterator[None]:
    """A session-level Postgres advisory lock named `name`, held for the block (waits while another holds it)."""
    conn.execute("select pg_advisory_lock(hashtextextended(%s, 0))", (name,))
    try:
        yield
    finally:
        conn.execute("select pg_advisory_unlock(hashtextextended(%s, 0))", (name,))


def libpq_url(url: str) -> str:
    """The URL libpq understands: a SQLAlchemy driver suffix (`postgresql+psycopg2://`, as the Dagster
    instance's URL carries) is dropped."""
    scheme, sep, rest = url.partition("://")
    if sep and scheme.startswith(("postgresql+", "postgres+")):
        return f"postgresql://{rest}"
    return url


def check_database(url: str) -> None:
    """Connect and run one query; raise DatabaseUnavailable if that fails."""
    with connect(url, autocommit=True) as conn:
        conn.execute("select 1")


def with_database(url: str, dbname: str) -> str:
    """The same server URL pointing at another database."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + dbname))


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/") or "postgres"


def ensure_database(url: str, dbname: str) -> None:
    """Create database `dbname` on the server of `url` unless it exists."""
    with connect(url, autocommit=True) as conn:
        exists = conn.execute("select 1 from pg_database where datname = %s", (dbname,)).fetchone()
        if not exists:
            try:
                conn.execute(sql.SQL("create database {}").format(sql.Identifier(dbname)))
            except psycopg.errors.DuplicateDatabase:
                pass  # another process created it between our check and our create


def redact_url(url: str) -> str:
    """The URL with any password replaced, for messages and logs."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable URL>"
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else exc.__class__.__name__
