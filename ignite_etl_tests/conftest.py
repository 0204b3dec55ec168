"""Test database: IGNITE_TEST_DATABASE_URL when set, else an embedded server for the session.

Each test session gets its own freshly migrated database; each test starts with empty app tables.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import socket
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from ignite_etl.store import migrations
from ignite_etl.store.cipher import CredentialCipher
from ignite_etl.store.connections import save_connection
from ignite_etl.store.database import connect, database_name, ensure_database, with_database
from ignite_etl.store.embedded import EmbeddedPostgres


@pytest.fixture(scope="session")
def pg_server_url():
    """A URL of a server tests may create databases on (its `postgres` database)."""
    configured = os.environ.get("IGNITE_TEST_DATABASE_URL")
    if configured:
        yield configured
        return
    tmp = Path(tempfile.mkdtemp(prefix="ignite-test-pg-"))
    server = EmbeddedPostgres(tmp / "pgdata", delete_on_exit=True).start()
    try:
        yield server.url("postgres")
    finally:
        server.stop()


@pytest.fixture(scope="session")
def make_database(pg_server_url):
    """Create an empty database on the test server and return its URL; dropped at session end."""
    created: list[str] = []

    def make(prefix: str = "ignite_test") -> str:
        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        ensure_database(pg_server_url, name)
        created.append(name)
        return with_database(pg_server_url, name)

    yield make
    with connect(pg_server_url, autocommit=True) as conn:
        for name in created:
            conn.execute(f'drop database if exists "{name}" with (force)')


@pytest.fixture(scope="session")
def migrated_database_url(make_database):
    url = make_database()
    migrations.upgrade(url)
    return url


@pytest.fixture
def database_url(migrated_database_url):
    """The session's migrated database with every app table emptied before the test."""
    with connect(migrated_database_url, autocommit=True) as conn:
        tables = conn.execute(
            """
            select format('%I.%I', schemaname, tablename) as t from pg_tables
            where schemaname not in ('pg_catalog', 'information_schema')
              and tablename <> 'schema_migration'
            """
        ).fetchall()
        if tables:
            conn.execute(f"truncate {', '.join(r['t'] for r in tables)} restart identity cascade")
    return migrated_database_url


@pytest.fixture
def secret_key() -> str:
    return CredentialCipher.generate_key()


@pytest.fixture
def cipher(secret_key) -> CredentialCipher:
    return CredentialCipher(secret_key)


@pytest.fixture
def add_connection(database_url, cipher):
    """Saves a Marketplacer connection `test-{site_id}` with no credentials, for tests of the stores
    and queues that only need the row to exist; returns its id."""

    def add(site_id: str, status: str = "connected") -> str:
        with connect(database_url, autocommit=True) as conn:
            save_connection(conn, cipher, site_env="test", site_id=site_id, platform="marketplacer", status=status,
                            sparklayer_credentials={}, platform_config={}, platform_secrets={})
        return f"test-{site_id}"

    return add


@pytest.fixture(autouse=True)
def no_dagster_instance_left_entered():
    """Every Dagster instance a test enters is left again. Entering one (`with instance`, or a schedule
    context reading `context.instance` outside a `with` block) makes its defs-state storage the current
    one, and definition loading reads that: left entered, later tests fail far from the cause with
    "Attempted to resolve undefined DagsterInstance weakref". Dagster has no public accessor for the
    current storage, hence the private import; the leak is cleared once reported, so only its test fails."""
    from dagster._core.storage.defs_state import base as defs_state

    yield
    left = defs_state.DefsStateStorage.get()
    defs_state._current_storage.set(None)
    assert left is None, "this test left a Dagster instance (or a context holding one) entered"


@dataclass
class LoopbackGuard:
    """What the code under test tried to reach off this machine (each attempt refused before a packet left)."""

    refused: list = field(default_factory=list)


def _on_loopback(address) -> bool:
    if isinstance(address, (str, bytes)):  # a Unix socket
        return True
    try:
        return ipaddress.ip_address(str(address[0]).split("%")[0]).is_loopback
    except ValueError:
        return False


@pytest.fixture
def loopback_only(monkeypatch) -> LoopbackGuard:
    """Refuse and record every connect, datagram and name lookup that would leave loopback, at the socket
    layer, so a test of a refusal cannot send a packet off this machine even when the code under test is
    wrong. Numeric hosts in any spelling (decimal, octal, hex) resolve locally, as the code sees them."""
    guard = LoopbackGuard()
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex
    real_sendto, real_getaddrinfo = socket.socket.sendto, socket.getaddrinfo

    def connect(sock, address):
        if not _on_loopback(address):
            guard.refused.append(("connect", address))
            raise ConnectionRefusedError(f"test guard: no connection off loopback ({address!r})")
        return real_connect(sock, address)

    def connect_ex(sock, address):
        if not _on_loopback(address):
            guard.refused.append(("connect", address))
            return errno.ECONNREFUSED
        return real_connect_ex(sock, address)

    def sendto(sock, data, *args):
        address = args[-1]
        if not _on_loopback(address):
            guard.refused.append(("sendto", address))
            raise ConnectionRefusedError(f"test guard: no datagram off loopback ({address!r})")
        return real_sendto(sock, data, *args)

    def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
        try:
            return real_getaddrinfo(host, port, family, type, proto, flags | socket.AI_NUMERICHOST)
        except socket.gaierror:
            if host in ("localhost", b"localhost"):
                return real_getaddrinfo(host, port, family, type, proto, flags)
            guard.refused.append(("lookup", host))
            raise socket.gaierror(socket.EAI_NONAME, f"test guard: no name lookups ({host!r})") from None

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket.socket, "sendto", sendto)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return guard
