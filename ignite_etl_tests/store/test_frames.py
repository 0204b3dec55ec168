import datetime as dt
import threading
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from ignite_etl.store.database import connect
from ignite_etl.store.frames import FrameError, FrameStore

SCHEMA = "frames_test"


@pytest.fixture
def store(database_url) -> FrameStore:
    return FrameStore(database_url, chunk_rows=3)


def _sql(url: str, query: str, params=()) -> list[dict]:
    with connect(url) as conn:
        return conn.execute(query, params).fetchall()


def _every_dtype() -> pd.DataFrame:
    london = "Europe/London"
    return pd.DataFrame(
        {
            "sku": ["A-1", None, "C-3", "D-4"],
            "quantity": np.array([1, 2, 3, 2**40], dtype="int64"),
            "maybe_quantity": pd.array([1, None, 3, 4], dtype="Int64"),
            "price": [1.5, np.nan, -2.25, 1e10],
            "active": [True, False, True, False],
            "maybe_active": pd.array([True, None, False, True], dtype="boolean"),
            "updated_at": pd.Series(
                pd.to_datetime(["2024-01-01 10:00", "2024-06-01 12:30:00.123456", None, "2024-12-31 23:59"], format="ISO8601")
            ).dt.tz_localize(london),
            "placed_on": pd.to_datetime(["2024-01-01 10:00", None, "2024-03-01", "2024-04-01"], format="ISO8601"),
            "attributes": [{"colour": "red", "sizes": [1, 2]}, None, {"nested": {"a": None}}, ["x", 1]],
            "cost": [Decimal("10.10"), Decimal("0.000001"), None, Decimal("-3")],
            "released": [dt.date(2024, 1, 2), None, dt.date(1999, 12, 31), dt.date(2030, 5, 6)],
            "lead_time": pd.to_timedelta([1, None, 3600, 86400 * 3], unit="s"),
            "channel": pd.Categorical(["web", "b2b", None, "web"]),
        }
    )


def test_every_supported_dtype_round_trips(store):
    frame = _every_dtype()
    assert store.write_slice(SCHEMA, "every_dtype", "test-shop", frame) == 4
    back = store.read_slice(SCHEMA, "every_dtype", "test-shop")

    assert list(back.columns) == list(frame.columns)
    assert back["sku"].tolist()[0] == "A-1" and pd.isna(back["sku"][1])
    assert back["quantity"].dtype == "int64" and back["quantity"].tolist() == [1, 2, 3, 2**40]
    assert back["maybe_quantity"].dtype == "Int64"
    assert back["maybe_quantity"].isna().tolist() == [False, True, False, False]
    assert back["price"].dtype == "float64"
    assert back["price"].isna().tolist() == [False, True, False, False]
    assert back["price"].dropna().tolist() == [1.5, -2.25, 1e10]
    assert back["active"].dtype == "bool" and back["active"].tolist() == [True, False, True, False]
    assert back["maybe_active"].dtype == "boolean"
    assert back["maybe_active"].tolist()[0] is True and pd.isna(back["maybe_active"][1])
    pd.testing.assert_series_equal(
        back["updated_at"], frame["updated_at"].dt.tz_convert("UTC").astype("datetime64[us, UTC]")
    )
    pd.testing.assert_series_equal(back["placed_on"], frame["placed_on"].astype("datetime64[us]"))
    assert back["attributes"].tolist() == [{"colour": "red", "sizes": [1, 2]}, None, {"nested": {"a": None}}, ["x", 1]]
    assert back["cost"].tolist() == [Decimal("10.10"), Decimal("0.000001"), None, Decimal("-3")]
    assert back["released"].tolist() == [dt.date(2024, 1, 2), None, dt.date(1999, 12, 31), dt.date(2030, 5, 6)]
    pd.testing.assert_series_equal(back["lead_time"], frame["lead_time"].astype("timedelta64[us]"))
    assert back["channel"].tolist()[::3] == ["web", "web"] and pd.isna(back["channel"][2])


def test_columns_get_postgres_types_an_analyst_can_query(store, database_url):
    store.write_slice(SCHEMA, "typed", "test-shop", _every_dtype())
    rows = _sql(
        database_url,
        """
        select column_name, data_type from information_schema.columns
        where table_schema = %s and table_name = 'typed' order by ordinal_position
        """,
        (SCHEMA,),
    )
    types = {r["column_name"]: r["data_type"] for r in rows}
    assert rows[0]["column_name"] == "connection_id"
    assert types == {
        "connection_id": "text",
        "_row": "bigint",
        "sku": "text",
        "quantity": "bigint",
        "maybe_quantity": "bigint",
        "price": "double precision",
        "active": "boolean",
        "maybe_active": "boolean",
        "updated_at": "timestamp with time zone",
        "placed_on": "timestamp without time zone",
        "attributes": "jsonb",
        "cost": "numeric",
        "released": "date",
        "lead_time": "interval",
        "channel": "text",
    }
    colours = _sql(database_url, f"select attributes->>'colour' as c from {SCHEMA}.typed where _row = 0")
    assert colours == [{"c": "red"}]


def test_rows_read_back_in_written_order(store):
    frame = pd.DataFrame({"n": list(range(10, 0, -1))})
    store.write_slice(SCHEMA, "ordered", "test-shop", frame)
    assert store.read_slice(SCHEMA, "ordered", "test-shop")["n"].tolist() == list(range(10, 0, -1))


def test_replacing_a_slice_leaves_other_connections_untouched(store):
    store.write_slice(SCHEMA, "products", "test-a", pd.DataFrame({"sku": ["a1", "a2"]}))
    store.write_slice(SCHEMA, "products", "test-b", pd.DataFrame({"sku": ["b1"]}))
    store.write_slice(SCHEMA, "products", "test-a", pd.DataFrame({"sku": ["a3"]}))

    assert store.read_slice(SCHEMA, "products", "test-a")["sku"].tolist() == ["a3"]
    assert store.read_slice(SCHEMA, "products", "test-b")["sku"].tolist() == ["b1"]
    both = store.read_slices(SCHEMA, "products")
    assert both[["connection_id", "sku"]].values.tolist() == [["test-a", "a3"], ["test-b", "b1"]]


def test_a_new_column_in_a_later_write_is_added(store):
    store.write_slice(SCHEMA, "widening", "test-a", pd.DataFrame({"sku": ["a1"]}))
    store.write_slice(SCHEMA, "widening", "test-b", pd.DataFrame({"sku": ["b1"], "stock": [7]}))

    b = store.read_slice(SCHEMA, "widening", "test-b")
    assert b.to_dict("list") == {"sku": ["b1"], "stock": [7]}
    a = store.read_slice(SCHEMA, "widening", "test-a")
    assert list(a.columns) == ["sku", "stock"]
    assert a["stock"].isna().all()


def test_a_column_that_only_held_nulls_takes_the_type_of_later_values(store):
    store.write_slice(SCHEMA, "late_typed", "test-a", pd.DataFrame({"price": pd.Series([None], dtype=object)}))
    store.write_slice(SCHEMA, "late_typed", "test-b", pd.DataFrame({"price": [Decimal("9.99")]}))
    assert store.read_slice(SCHEMA, "late_typed", "test-b")["price"].tolist() == [Decimal("9.99")]


def test_an_empty_frame_s_guessed_types_give_way_to_later_values_of_any_type(store):
    empty = pd.DataFrame({"body": [], "ok": []})  # pandas 3: float64 columns
    store.write_slice(SCHEMA, "guessed", "conn-a", empty)
    later = pd.DataFrame({"body": [{"a": 1}], "ok": [True]})
    store.write_slice(SCHEMA, "guessed", "conn-b", later)  # no cast from double precision to jsonb

    back = store.read_slice(SCHEMA, "guessed", "conn-b")
    assert back["body"].tolist() == [{"a": 1}] and back["ok"].tolist() == [True]


def test_ints_with_gaps_fit_an_integer_column(store):
    store.write_slice(SCHEMA, "gappy", "test-a", pd.DataFrame({"stock": [1, 2]}))
    store.write_slice(SCHEMA, "gappy", "test-b", pd.DataFrame({"stock": [3.0, np.nan]}))
    b = store.read_slice(SCHEMA, "gappy", "test-b")["stock"]
    assert b.dtype == "Int64" and b.tolist()[0] == 3 and pd.isna(b[1])


def test_a_value_that_does_not_fit_the_stored_type_is_refused_with_the_column_named(store):
    store.write_slice(SCHEMA, "strict", "test-a", pd.DataFrame({"stock": [1]}))
    with pytest.raises(FrameError, match="'stock'.*stored as bigint"):
        store.write_slice(SCHEMA, "strict", "test-b", pd.DataFrame({"stock": ["lots"]}))
    assert store.read_slice(SCHEMA, "strict", "test-a")["stock"].tolist() == [1]


@pytest.mark.parametrize(
    "empty",
    [pd.DataFrame(), pd.DataFrame({"sku": pd.Series([], dtype="str"), "stock": pd.Series([], dtype="int64")})],
    ids=["no-columns", "columns-no-rows"],
)
def test_an_empty_frame_leaves_an_empty_slice(store, empty):
    store.write_slice(SCHEMA, "emptied", "test-a", pd.DataFrame({"sku": ["a1"], "stock": [1]}))
    store.write_slice(SCHEMA, "emptied", "test-b", pd.DataFrame({"sku": ["b1"], "stock": [2]}))

    assert store.write_slice(SCHEMA, "emptied", "test-a", empty) == 0

    a = store.read_slice(SCHEMA, "emptied", "test-a")
    assert len(a) == 0
    assert list(a.columns) == ["sku", "stock"]
    assert a["stock"].dtype == "int64"
    assert store.read_slice(SCHEMA, "emptied", "test-b")["sku"].tolist() == ["b1"]


def test_an_empty_frame_can_create_its_table(store, database_url):
    store.write_slice(SCHEMA, "born_empty", "test-a", pd.DataFrame())
    assert len(store.read_slice(SCHEMA, "born_empty", "test-a")) == 0
    assert _sql(database_url, f"select count(*) as n from {SCHEMA}.born_empty") == [{"n": 0}]


def test_reading_a_table_that_does_not_exist_gives_an_empty_frame(store):
    frame = store.read_slice(SCHEMA, "never_written", "test-a")
    assert isinstance(frame, pd.DataFrame)
    assert frame.empty and list(frame.columns) == []


def test_delete_connection_removes_its_rows_from_every_table(store, database_url):
    for table in ("products", "variants"):
        store.write_slice(SCHEMA, table, "test-a", pd.DataFrame({"id": [1, 2]}))
        store.write_slice(SCHEMA, table, "test-b", pd.DataFrame({"id": [3]}))
    store.write_slice("other_group", "stock", "test-a", pd.DataFrame({"id": [4]}))

    assert store.delete_connection("test-a") == 5

    for schema, table in store.tables():
        assert _sql(database_url, f"select count(*) as n from {schema}.{table} where connection_id = 'test-a'") == [
            {"n": 0}
        ]
    assert store.read_slice(SCHEMA, "variants", "test-b")["id"].tolist() == [3]
    assert (SCHEMA, "products") in store.tables() and ("other_group", "stock") in store.tables()


def test_a_write_that_fails_halfway_keeps_the_previous_slice(store, database_url):
    store.write_slice(SCHEMA, "atomic", "test-a", pd.DataFrame({"name": ["old-1", "old-2"]}))
    # chunk_rows=3, so the first rows are already streamed when the NUL byte (which Postgres
    # text cannot hold) stops the COPY.
    bad = pd.DataFrame({"name": ["new-1", "new-2", "new-3", "new-4", "bad\x00value"]})

    with pytest.raises(Exception):
        store.write_slice(SCHEMA, "atomic", "test-a", bad)

    assert store.read_slice(SCHEMA, "atomic", "test-a")["name"].tolist() == ["old-1", "old-2"]


class PausedWriter:
    """Runs `write_slice` in a thread that stops after its first row is streamed, until released."""

    def __init__(self, url: str, *args) -> None:
        self.store = FrameStore(url)
        self.copying = threading.Event()
        self.release = threading.Event()
        rows = self.store._rows

        def paused_rows(*rows_args):
            for i, row in enumerate(rows(*rows_args)):
                if i == 1:
                    self.copying.set()
                    self.release.wait(timeout=30)
                yield row

        self.store._rows = paused_rows
        self.thread = threading.Thread(target=self.store.write_slice, args=args)

    def __enter__(self) -> "PausedWriter":
        self.thread.start()
        assert self.copying.wait(timeout=30)
        return self

    def __exit__(self, *exc) -> None:
        self.release.set()
        self.thread.join(timeout=30)


def _wait_for_a_blocked_session(url: str) -> None:
    with connect(url, autocommit=True) as conn:
        for _ in range(300):
            waiting = conn.execute(
                "select count(*) as n from pg_stat_activity"
                " where datname = current_database() and wait_event_type = 'Lock'"
            ).fetchone()["n"]
            if waiting:
                return
            threading.Event().wait(0.05)
    raise AssertionError("the second writer never waited for the first")


def test_a_reader_sees_the_old_slice_until_the_write_commits(store, database_url):
    store.write_slice(SCHEMA, "isolated", "test-a", pd.DataFrame({"n": [1, 2]}))

    with PausedWriter(database_url, SCHEMA, "isolated", "test-a", pd.DataFrame({"n": [7, 8, 9]})):
        during = store.read_slice(SCHEMA, "isolated", "test-a")["n"].tolist()

    assert during == [1, 2]
    assert store.read_slice(SCHEMA, "isolated", "test-a")["n"].tolist() == [7, 8, 9]


def test_two_writers_of_one_slice_leave_only_the_later_frame(store, database_url):
    store.write_slice(SCHEMA, "contended", "test-a", pd.DataFrame({"n": [1, 2]}))
    second = threading.Thread(
        target=store.write_slice, args=(SCHEMA, "contended", "test-a", pd.DataFrame({"n": [20, 21]}))
    )

    with PausedWriter(database_url, SCHEMA, "contended", "test-a", pd.DataFrame({"n": [10, 11, 12]})):
        second.start()
        _wait_for_a_blocked_session(database_url)
    second.join(timeout=30)

    assert store.read_slice(SCHEMA, "contended", "test-a")["n"].tolist() == [20, 21]


@pytest.mark.parametrize("schema, table", [("Platform", "products"), ("platform", "products; drop table x"), ("public", "t")])
def test_unsafe_or_reserved_names_are_refused(store, schema, table):
    with pytest.raises(FrameError):
        store.write_slice(schema, table, "test-a", pd.DataFrame({"a": [1]}))


def test_reserved_column_names_are_refused(store):
    with pytest.raises(FrameError, match="reserved"):
        store.write_slice(SCHEMA, "reserved", "test-a", pd.DataFrame({"connection_id": ["x"]}))


def test_a_large_frame_round_trips_through_many_chunks(database_url):
    store = FrameStore(database_url, chunk_rows=1000)
    frame = pd.DataFrame({"n": np.arange(25_000), "label": [f"row {i}" for i in range(25_000)]})
    store.write_slice(SCHEMA, "large", "test-a", frame)
    back = store.read_slice(SCHEMA, "large", "test-a")
    pd.testing.assert_frame_equal(back, frame)


def test_a_slice_reads_back_a_chunk_at_a_time_in_written_order(store):
    frame = pd.DataFrame({"sku": [f"S-{i}" for i in range(7)], "body": [{"n": i} for i in range(7)]})
    store.write_slice(SCHEMA, "chunked", "conn-a", frame)
    store.write_slice(SCHEMA, "chunked", "conn-b", frame.head(2))

    chunks = list(store.iter_slice(SCHEMA, "chunked", "conn-a"))

    assert [len(c) for c in chunks] == [3, 3, 1]  # chunk_rows=3
    assert all(list(c.index) == list(range(len(c))) for c in chunks)
    joined = pd.concat(chunks, ignore_index=True)
    assert list(joined.columns) == ["sku", "body"]
    assert joined["sku"].tolist() == frame["sku"].tolist() and joined["body"].tolist() == frame["body"].tolist()
    assert list(store.iter_slice(SCHEMA, "no_such_table", "conn-a")) == []
    assert list(store.iter_slice(SCHEMA, "chunked", "conn-none")) == []
