"""The token store keeps the SparkLayer token encrypted on the connection row, across runs."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from pydantic import SecretStr

from ignite_etl.errors import ConfigurationError
from ignite_etl.sparklayer import PostgresTokenStore, StoredToken
from ignite_etl.store.database import connect


@pytest.fixture
def connection_id(database_url) -> str:
    with connect(database_url) as conn:
        conn.execute(
            "insert into connection (id, site_env, site_id, platform) values ('test-bobs-store', 'test', 'bobs-store', 'marketplacer')"
        )
    return "test-bobs-store"


def test_stored_token_is_encrypted_and_read_back(database_url, connection_id, cipher):
    expires = datetime(2030, 1, 1, tzinfo=timezone.utc)
    PostgresTokenStore(database_url, connection_id, cipher).save(StoredToken(SecretStr("tok-123"), expires))

    loaded = PostgresTokenStore(database_url, connection_id, cipher).load()
    with connect(database_url) as conn:
        raw = bytes(conn.execute("select sparklayer_token from connection where id = %s", (connection_id,)).fetchone()["sparklayer_token"])

    assert loaded.access_token.get_secret_value() == "tok-123"
    assert loaded.expires_at == expires
    assert b"tok-123" not in raw


def test_a_connection_without_a_token_loads_none(database_url, connection_id, cipher):
    assert PostgresTokenStore(database_url, connection_id, cipher).load() is None


def test_saving_for_a_missing_connection_says_so(database_url, cipher):
    with pytest.raises(ConfigurationError, match="does not exist"):
        PostgresTokenStore(database_url, "test-nobody", cipher).save(StoredToken(SecretStr("t"), datetime.now(timezone.utc)))


def test_client_reuses_the_token_stored_in_postgres_across_runs(database_url, connection_id, cipher, make_client, sandbox, clock):
    from ignite_etl.sparklayer.models import Customer

    def one_run(n: int):
        client = make_client(token_store=PostgresTokenStore(database_url, connection_id, cipher))
        return client.run(lambda c: c.upsert_customer(Customer(external_id=f"c{n}", email=f"c{n}@x.io", first_name="A", last_name="B")))

    one_run(1)
    one_run(2)
    clock.advance(timedelta(hours=1).total_seconds())
    one_run(3)

    assert len(sandbox.journal(path_contains="/api/auth/token")) == 2
