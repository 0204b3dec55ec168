import pytest

from ignite_etl.errors import DatabaseUnavailable
from ignite_etl.store.database import check_database, connect, database_name, redact_url, with_database


def test_unreachable_server_is_one_line_without_the_password():
    with pytest.raises(DatabaseUnavailable) as info:
        check_database("postgresql://app:hunter2@127.0.0.1:1/ignite")
    message = str(info.value)
    assert "hunter2" not in message
    assert "\n" not in message
    assert "127.0.0.1" in message and "IGNITE_DATABASE_URL" in message


def test_malformed_url_is_one_line_without_echoing_it():
    with pytest.raises(DatabaseUnavailable) as info:
        check_database("password=hunter2 this-is-not-a-url")
    assert "hunter2" not in str(info.value)
    assert "postgresql://user:password@host:port/dbname" in str(info.value)


def test_redact_and_switch_database():
    assert redact_url("postgresql://a:pw@h:5432/db") == "postgresql://a:***@h:5432/db"
    assert with_database("postgresql://a@h/db?sslmode=require", "dagster") == "postgresql://a@h/dagster?sslmode=require"
    assert with_database("postgresql://postgres:@/ignite?host=/tmp/x", "dagster") == "postgresql://postgres:@/dagster?host=/tmp/x"


def test_a_dagster_style_url_with_a_driver_suffix_connects(migrated_database_url):
    scheme, rest = migrated_database_url.split("://", 1)
    with connect(f"postgresql+psycopg2://{rest}") as conn:
        assert conn.execute("select current_database() as db").fetchone()["db"] == database_name(migrated_database_url)
