"""Asset DataFrames in Postgres: one plain table per asset, rows tagged with their connection.

Each write replaces one connection's slice in a single transaction (create or widen the table,
delete the old rows, COPY the new ones), so a reader sees the old slice or the new one, never a
mix. Tables are ordinary SQL tables an analyst can query; no pickles, nothing on local disk.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import numbers
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from psycopg import sql
from psycopg.rows import tuple_row

from ignite_etl.store.database import Conn, connect

CONNECTION_COLUMN = "connection_id"
ROW_COLUMN = "_row"
"""Position of the row within its slice, so a slice reads back in the order it was written."""

RESERVED_COLUMNS = frozenset({CONNECTION_COLUMN, ROW_COLUMN})
REGISTRY_TABLE = "frame_table"

_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_FORBIDDEN_SCHEMAS = frozenset({"public", "information_schema"})
_DDL_LOCK_KEY = 0x1617_F4A3  # pg_advisory_xact_lock key: creating or altering frame tables
_MAX_IDENTIFIER_BYTES = 63

# Postgres type names as format_type() spells them, so stored and inferred types compare equal.
BIGINT = "bigint"
DOUBLE = "double precision"
NUMERIC = "numeric"
BOOLEAN = "boolean"
TIMESTAMPTZ = "timestamp with time zone"
TIMESTAMP = "timestamp without time zone"
DATE = "date"
INTERVAL = "interval"
TEXT = "text"
JSONB = "jsonb"
BYTEA = "bytea"

# The dtype pandas gives a column of Python strings: `str` on pandas 3, `object` before.
_TEXT_DTYPE = pd.Series(["x"]).dtype


class FrameError(ValueError):
    """A frame, name or column that the frame store cannot hold; the message says what to change."""


@dataclass(frozen=True)
class _Column:
    name: str
    type: str
    series: pd.Series
    has_values: bool


class FrameStore:
    """Reads and writes per-connection slices of asset tables in the database at `url`."""

    def __init__(self, url: str, *, chunk_rows: int = 10_000) -> None:
        self._url = url
        self._chunk_rows = chunk_rows

    def write_slice(self, schema: str, table: str, connection_id: str, frame: pd.DataFrame) -> int:
        """Replace `connection_id`'s rows in `schema.table` with `frame`; return the rows written.

        Creates the schema and table on first use and adds columns the table lacks. The frame's
        index is not stored (call `reset_index()` first to keep it).
        """
        _check_name(schema, "schema")
        _check_name(table, "table")
        _check_connection_id(connection_id)
        if schema in _FORBIDDEN_SCHEMAS or schema.startswith("pg_"):
            raise FrameError(f"schema {schema!r} is reserved; store frames in a schema of their own")
        columns = _frame_columns(frame)
        target = sql.Identifier(schema, table)
        with connect(self._url) as conn:
            # Lock order (slice, registry row, DDL lock, table) is the same for every writer, so
            # concurrent writers queue instead of deadlocking. The slice lock makes a second writer
            # of the same slice delete the first one's rows rather than add beside them.
            _lock_slice(conn, schema, table, connection_id)
            conn.execute(
                sql.SQL(
                    "insert into {} (schema_name, table_name) values (%s, %s) on conflict do nothing"
                ).format(sql.Identifier(REGISTRY_TABLE)),
                (schema, table),
            )
            stored = _stored_columns(conn, schema, table)
            if _needs_ddl(stored, columns):
                conn.execute("select pg_advisory_xact_lock(%s)", (_DDL_LOCK_KEY,))
                stored = _stored_columns(conn, schema, table)  # another writer may have done it
                stored = _apply_ddl(conn, schema, table, stored, columns)
            _check_types(schema, table, stored, columns)
            conn.execute(
                sql.SQL("delete from {} where {} = %s").format(target, sql.Identifier(CONNECTION_COLUMN)),
                (connection_id,),
            )
            if len(frame):
                names = [CONNECTION_COLUMN, ROW_COLUMN, *(c.name for c in columns)]
                copy_sql = sql.SQL("copy {} ({}) from stdin").format(
                    target, sql.SQL(", ").join(map(sql.Identifier, names))
                )
                with conn.cursor() as cur, cur.copy(copy_sql) as copy:
                    for row in self._rows(connection_id, frame, columns, stored):
                        copy.write_row(row)
        return len(frame)

    def read_slice(self, schema: str, table: str, connection_id: str) -> pd.DataFrame:
        """`connection_id`'s rows of `schema.table` in written order, without the connection column.

        An empty frame when the table does not exist yet.
        """
        _check_connection_id(connection_id)
        frame = self._read(schema, table, [connection_id])
        return frame.drop(columns=[CONNECTION_COLUMN], errors="ignore")

    def read_slices(self, schema: str, table: str, connection_ids: Sequence[str] | None = None) -> pd.DataFrame:
        """Rows of several connections (all when `connection_ids` is None), with `connection_id` first."""
        if connection_ids is not None:
            for connection_id in connection_ids:
                _check_connection_id(connection_id)
        return self._read(schema, table, None if connection_ids is None else list(connection_ids))

    def delete_connection(self, connection_id: str) -> int:
        """Remove `connection_id`'s rows from every frame table, in one transaction; return rows deleted."""
        _check_connection_id(connection_id)
        deleted = 0
        with connect(self._url) as conn:
            tables = _registered_tables(conn)
            # Every slice lock first, before any table lock, so a running write finishes (and is
            # then deleted) instead of leaving rows behind, and no lock cycle can form.
            for schema, table in tables:
                _lock_slice(conn, schema, table, connection_id)
            for schema, table in tables:
                if not _stored_columns(conn, schema, table):
                    continue  # dropped by hand; nothing left to delete
                cur = conn.execute(
                    sql.SQL("delete from {} where {} = %s").format(
                        sql.Identifier(schema, table), sql.Identifier(CONNECTION_COLUMN)
                    ),
                    (connection_id,),
                )
                deleted += cur.rowcount
        return deleted

    def tables(self) -> list[tuple[str, str]]:
        """The (schema, table) pairs this store has written to."""
        with connect(self._url) as conn:
            return _registered_tables(conn)

    def iter_slice(self, schema: str, table: str, connection_id: str) -> Iterator[pd.DataFrame]:
        """`connection_id`'s rows in written order, `chunk_rows` at a time (each chunk indexed from 0,
        without the connection column), for a slice too big to hold at once. Each chunk is its own
        statement (keyset on the row position) on an autocommit connection, so no transaction stays
        open while the caller works on a chunk. Nothing when the table does not exist yet."""
        _check_connection_id(connection_id)
        _check_name(schema, "schema")
        _check_name(table, "table")
        with connect(self._url, autocommit=True) as conn:
            stored = _stored_columns(conn, schema, table)
            names = [n for n in stored if n not in RESERVED_COLUMNS]
            if not names:
                return
            query = sql.SQL("select {}, {} from {} where {} = %s and {} > %s order by {} limit %s").format(
                sql.Identifier(ROW_COLUMN),
                sql.SQL(", ").join(map(sql.Identifier, names)),
                sql.Identifier(schema, table),
                sql.Identifier(CONNECTION_COLUMN),
                sql.Identifier(ROW_COLUMN),
                sql.Identifier(ROW_COLUMN),
            )
            after = -1
            while True:
                with conn.cursor(row_factory=tuple_row) as cur:
                    rows = cur.execute(query, (connection_id, after, self._chunk_rows)).fetchall()
                if not rows:
                    return
                after = rows[-1][0]
                columns = [list(values) for values in zip(*rows)][1:]
                del rows
                yield _frame(names, stored, columns)
                if len(columns[0]) < self._chunk_rows:
                    return

    def _read(self, schema: str, table: str, connection_ids: list[str] | None) -> pd.DataFrame:
        _check_name(schema, "schema")
        _check_name(table, "table")
        with connect(self._url) as conn:
            stored = _stored_columns(conn, schema, table)
            if not stored:
                return pd.DataFrame()
            names = [n for n in stored if n != ROW_COLUMN]
            where: sql.Composable = sql.SQL("")
            params: tuple[Any, ...] = ()
            if connection_ids is not None:
                where = sql.SQL("where {} = any(%s)").format(sql.Identifier(CONNECTION_COLUMN))
                params = (connection_ids,)
            query = sql.SQL("select {} from {} {} order by {}, {}").format(
                sql.SQL(", ").join(map(sql.Identifier, names)),
                sql.Identifier(schema, table),
                where,
                sql.Identifier(CONNECTION_COLUMN),
                sql.Identifier(ROW_COLUMN),
            )
            # A server-side cursor, read a chunk at a time into one list per column: neither the
            # whole result nor a tuple per row is held on top of the columns.
            columns: list[list] = [[] for _ in names]
            with conn.cursor(name=f"read_{schema}_{table}", row_factory=tuple_row) as cur:
                cur.itersize = self._chunk_rows
                cur.execute(query, params)
                while chunk := cur.fetchmany(self._chunk_rows):
                    for column, values in zip(columns, zip(*chunk)):
                        column.extend(values)
        return _frame(names, stored, columns)

    def _rows(
        self, connection_id: str, frame: pd.DataFrame, columns: list[_Column], stored: dict[str, str]
    ) -> Iterator[tuple]:
        """The frame's rows as Python values, a chunk at a time, so memory does not double."""
        for start in range(0, len(frame), self._chunk_rows):
            stop = min(start + self._chunk_rows, len(frame))
            chunk = [_python_values(c.series.iloc[start:stop], stored[c.name]) for c in columns]
            rows = zip(*chunk) if chunk else (() for _ in range(start, stop))
            for position, values in zip(range(start, stop), rows):
                yield (connection_id, position, *values)


def variant_owners(conn: Conn, variants_table: tuple[str, str], connection_id: str,
                   ids_or_skus: Sequence[str]) -> list[dict]:
    """Rows of a stored variants extract whose external id or SKU is among `ids_or_skus`: each with its
    `external_id`, `product_external_id` and `sku`."""
    if not ids_or_skus:
        return []
    return list(conn.execute(
        sql.SQL("select external_id, product_external_id, sku from {} where connection_id = %s "
                "and (external_id = any(%s) or sku = any(%s))").format(sql.Identifier(*variants_table)),
        (connection_id, list(ids_or_skus), list(ids_or_skus)),
    ))


def _frame(names: list[str], stored: dict[str, str], columns: list[list]) -> pd.DataFrame:
    data = {name: _series(stored[name], column) for name, column in zip(names, columns)}
    return pd.DataFrame(data, index=pd.RangeIndex(len(columns[0]) if columns else 0))


def _check_name(name: str, what: str) -> None:
    if not isinstance(name, str) or not _NAME.match(name):
        raise FrameError(
            f"{what} name {name!r} is not allowed: use lowercase letters, digits and underscores, "
            "starting with a letter or underscore, at most 63 characters"
        )


def _check_connection_id(connection_id: str) -> None:
    if not isinstance(connection_id, str) or not connection_id:
        raise FrameError(f"connection id {connection_id!r} must be a non-empty string")


def _frame_columns(frame: pd.DataFrame) -> list[_Column]:
    if not isinstance(frame, pd.DataFrame):
        raise FrameError(f"expected a pandas DataFrame, got {type(frame).__name__}")
    columns = []
    seen: set[str] = set()
    for position, name in enumerate(frame.columns):
        if not isinstance(name, str) or not name:
            raise FrameError(f"column names must be non-empty strings; column {position} is named {name!r}")
        if len(name.encode("utf-8")) > _MAX_IDENTIFIER_BYTES:
            raise FrameError(f"column name {name!r} is longer than Postgres allows (63 bytes); shorten it")
        if name in RESERVED_COLUMNS:
            raise FrameError(f"column name {name!r} is reserved by the frame store; rename the column")
        if name in seen:
            raise FrameError(f"column name {name!r} appears twice; column names must be unique")
        seen.add(name)
        series = frame.iloc[:, position]
        columns.append(_Column(name, _column_type(name, series), series, bool(series.notna().any())))
    return columns


def _column_type(name: str, series: pd.Series) -> str:
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return _column_type(name, pd.Series(dtype.categories, dtype=dtype.categories.dtype))
    if isinstance(dtype, pd.StringDtype):
        return TEXT
    if pd.api.types.is_bool_dtype(dtype):
        return BOOLEAN
    if pd.api.types.is_integer_dtype(dtype):
        return NUMERIC if dtype in (np.dtype("uint64"), pd.UInt64Dtype()) else BIGINT
    if pd.api.types.is_float_dtype(dtype):
        return DOUBLE
    if isinstance(dtype, pd.DatetimeTZDtype):
        return TIMESTAMPTZ
    if pd.api.types.is_datetime64_dtype(dtype):
        return TIMESTAMP
    if pd.api.types.is_timedelta64_dtype(dtype):
        return INTERVAL
    if dtype == np.dtype(object):
        return _object_column_type(name, series)
    raise FrameError(f"column {name!r} has dtype {dtype}, which the frame store cannot hold; convert it first")


def _object_column_type(name: str, series: pd.Series) -> str:
    """The one Postgres type that fits every non-missing value of an object column."""
    kinds = {_value_kind(value) for value in series[series.notna()]}
    if not kinds:
        return TEXT  # nothing to go by; a later write with values may retype it
    if kinds <= {BIGINT, DOUBLE} and len(kinds) == 2:
        return DOUBLE
    if len(kinds) == 1 and None not in kinds:
        return str(kinds.pop())
    raise FrameError(
        f"column {name!r} mixes values the frame store cannot put in one column "
        f"({', '.join(sorted(str(k) for k in kinds))}); give it a single type first"
    )


def _value_kind(value: object) -> str | None:
    if isinstance(value, str):
        return TEXT
    if isinstance(value, (dict, list)):
        return JSONB
    if isinstance(value, (bool, np.bool_)):
        return BOOLEAN
    if isinstance(value, numbers.Integral):
        return BIGINT
    if isinstance(value, decimal.Decimal):
        return NUMERIC
    if isinstance(value, numbers.Real):
        return DOUBLE
    if isinstance(value, dt.datetime):
        return TIMESTAMP if value.tzinfo is None else TIMESTAMPTZ
    if isinstance(value, dt.date):
        return DATE
    if isinstance(value, dt.timedelta):
        return INTERVAL
    if isinstance(value, (bytes, bytearray, memoryview)):
        return BYTEA
    return None


def _lock_slice(conn: Conn, schema: str, table: str, connection_id: str) -> None:
    """Hold one connection's slice of one table until the transaction ends."""
    conn.execute(
        "select pg_advisory_xact_lock(hashtextextended(%s, 0))",
        (f"ignite_etl.frame:{schema}.{table}:{connection_id}",),
    )


def _stored_columns(conn: Conn, schema: str, table: str) -> dict[str, str]:
    """Column name -> type of `schema.table` in column order; empty when the table does not exist."""
    rows = conn.execute(
        """
        select a.attname as name, format_type(a.atttypid, a.atttypmod) as type
        from pg_attribute a
        join pg_class c on c.oid = a.attrelid
        join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = %s and c.relname = %s and c.relkind in ('r', 'p')
          and a.attnum > 0 and not a.attisdropped
        order by a.attnum
        """,
        (schema, table),
    ).fetchall()
    return {row["name"]: row["type"] for row in rows}


def _registered_tables(conn: Conn) -> list[tuple[str, str]]:
    rows = conn.execute(
        sql.SQL("select schema_name, table_name from {} order by 1, 2").format(sql.Identifier(REGISTRY_TABLE))
    ).fetchall()
    return [(row["schema_name"], row["table_name"]) for row in rows]


def _needs_ddl(stored: dict[str, str], columns: list[_Column]) -> bool:
    if not stored:
        return True
    return any(c.name not in stored or _retype(stored[c.name], c) for c in columns)


def _retype(stored_type: str, column: _Column) -> bool:
    """Whether a stored column should take the frame's type (it differs and the frame has values)."""
    return column.has_values and not _fits(stored_type, column)


def _fits(stored_type: str, column: _Column) -> bool:
    """Whether the frame column's values can be written into a column of `stored_type` losslessly."""
    if not column.has_values or stored_type == column.type:
        return True
    if stored_type == DOUBLE and column.type == BIGINT:
        return True
    if stored_type == NUMERIC and column.type in (BIGINT, DOUBLE):
        return True
    if stored_type == BIGINT and column.type == DOUBLE:
        # pandas turns an int column with a gap into floats; whole numbers still fit.
        values = column.series.dropna().astype(float)
        return bool(np.isfinite(values).all() and (values == np.floor(values)).all())
    return False


def _apply_ddl(
    conn: Conn, schema: str, table: str, stored: dict[str, str], columns: list[_Column]
) -> dict[str, str]:
    """Create the table or add and retype columns; call under the DDL lock. Returns the new layout."""
    target = sql.Identifier(schema, table)
    if not stored:
        conn.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(schema)))
        definitions = [
            sql.SQL("{} text not null").format(sql.Identifier(CONNECTION_COLUMN)),
            sql.SQL("{} bigint not null").format(sql.Identifier(ROW_COLUMN)),
            *(sql.SQL("{} {}").format(sql.Identifier(c.name), sql.SQL(c.type)) for c in columns),
        ]
        conn.execute(sql.SQL("create table {} ({})").format(target, sql.SQL(", ").join(definitions)))
        conn.execute(
            sql.SQL("create index on {} ({}, {})").format(
                target, sql.Identifier(CONNECTION_COLUMN), sql.Identifier(ROW_COLUMN)
            )
        )
        return _stored_columns(conn, schema, table)
    for column in columns:
        name = sql.Identifier(column.name)
        if column.name not in stored:
            conn.execute(
                sql.SQL("alter table {} add column if not exists {} {}").format(target, name, sql.SQL(column.type))
            )
        elif _retype(stored[column.name], column) and _only_nulls(conn, target, column.name):
            # The column has only ever held NULLs, so its type was a guess (an empty frame's columns
            # are float64 in pandas 3): take the real one. Nothing to convert, and a cast from the
            # guess (double precision to jsonb, say) may not exist.
            conn.execute(
                sql.SQL("alter table {} alter column {} type {} using null::{}").format(
                    target, name, sql.SQL(column.type), sql.SQL(column.type)
                )
            )
    return _stored_columns(conn, schema, table)


def _only_nulls(conn: Conn, target: sql.Identifier, column: str) -> bool:
    row = conn.execute(
        sql.SQL("select not exists (select 1 from {} where {} is not null) as empty").format(
            target, sql.Identifier(column)
        )
    ).fetchone()
    return bool(row and row["empty"])


def _check_types(schema: str, table: str, stored: dict[str, str], columns: list[_Column]) -> None:
    for column in columns:
        if not _fits(stored[column.name], column):
            raise FrameError(
                f"column {column.name!r} of {schema}.{table} is stored as {stored[column.name]} "
                f"but the frame holds {column.type}; convert the column, or drop the table to change its type"
            )


def _python_values(series: pd.Series, stored_type: str) -> list:
    """The series as Python values COPY can take, with None for every missing value."""
    missing = series.isna().to_numpy()
    values = series.astype(object).tolist()
    convert: Callable[[Any], Any] | None
    if stored_type == JSONB:
        convert = _to_json
    elif stored_type == BIGINT and pd.api.types.is_float_dtype(series.dtype):
        convert = int
    else:
        convert = None
    return [None if gap else (convert(v) if convert else v) for v, gap in zip(values, missing)]


def _to_json(value: object) -> str:
    if isinstance(value, str):
        return value  # already JSON text (a column retyped from text keeps its strings)
    return json.dumps(value, default=str)


def _series(stored_type: str, values: list) -> pd.Series:
    """A column read back with the dtype pandas users expect for its Postgres type."""
    has_gaps = any(v is None for v in values)
    if stored_type in ("bigint", "integer", "smallint"):
        return pd.Series(values, dtype="Int64" if has_gaps else "int64")
    if stored_type == BOOLEAN:
        return pd.Series(values, dtype="boolean" if has_gaps else "bool")
    if stored_type in (DOUBLE, "real"):
        return pd.Series([np.nan if v is None else v for v in values], dtype="float64")
    if stored_type == TIMESTAMPTZ:
        return pd.Series(pd.to_datetime(values, utc=True), dtype="datetime64[us, UTC]")
    if stored_type == TIMESTAMP:
        return pd.Series(pd.to_datetime(values), dtype="datetime64[us]")
    if stored_type == INTERVAL:
        return pd.Series(pd.to_timedelta(values), dtype="timedelta64[us]")
    if stored_type == TEXT or stored_type.startswith("character"):
        return pd.Series(values, dtype=_TEXT_DTYPE)
    return pd.Series(values, dtype=object)
