"""Connections between a SparkLayer site and a platform store, with their credentials decrypted on read."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from psycopg.types.json import Jsonb

from ignite_etl.errors import ConfigurationError
from ignite_etl.store.cipher import CredentialCipher
from ignite_etl.store.database import Conn

SITE_ENVS = ("live", "test")
_SITE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
SITE_ID_RULE = "siteId must be 1-100 letters, digits, '.', '_' or '-', starting with a letter or digit, without '...'"


def site_id_problem(site_id: str) -> str | None:
    """Why `site_id` cannot name a connection, or None. A connection id is a Dagster partition key, so this is
    Dagster's rule for partition keys (no "..." and no control character) within our narrower alphabet."""
    if not isinstance(site_id, str) or not _SITE_ID.fullmatch(site_id) or "..." in site_id:
        return SITE_ID_RULE
    return None


def connection_id_for(site_env: str, site_id: str) -> str:
    """The connection id and Dagster partition key: `{siteEnv}-{siteId}`."""
    return f"{site_env}-{site_id}"


def site_of(connection_id: str) -> tuple[str, str]:
    """(siteEnv, siteId) of a connection id; the environment never holds a '-'."""
    site_env, _, site_id = connection_id.partition("-")
    return site_env, site_id


class ConnectionNotFound(ConfigurationError):
    pass


@dataclass(frozen=True)
class Connection:
    id: str
    site_env: str
    site_id: str
    platform: str
    status: str
    store_id: str | None
    platform_config: dict[str, Any]
    sparklayer_credentials: dict[str, str] = field(repr=False, default_factory=dict)
    platform_secrets: dict[str, str] = field(repr=False, default_factory=dict)
    webhook_secret: str | None = field(repr=False, default=None)
    webhook_state: dict[str, Any] = field(default_factory=dict)


def get_connection(conn: Conn, cipher: CredentialCipher, connection_id: str) -> Connection:
    row = conn.execute("select * from connection where id = %s", (connection_id,)).fetchone()
    if row is None:
        raise ConnectionNotFound(
            f"no connection {connection_id!r}: it was never connected or has been removed"
        )
    return Connection(
        id=row["id"],
        site_env=row["site_env"],
        site_id=row["site_id"],
        platform=row["platform"],
        status=row["status"],
        store_id=row["store_id"],
        platform_config=dict(row["platform_config"] or {}),
        sparklayer_credentials=cipher.decrypt_json(row["sparklayer_credentials"]) if row["sparklayer_credentials"] else {},
        platform_secrets=cipher.decrypt_json(row["platform_credentials"]) if row["platform_credentials"] else {},
        webhook_secret=cipher.decrypt(row["webhook_secret"]) if row["webhook_secret"] else None,
        webhook_state=dict(row["webhook_state"] or {}),
    )


UPSERT_CONNECTION = """
insert into connection (id, site_env, site_id, platform, status, store_id, platform_config,
                        sparklayer_credentials, platform_credentials)
values (%(id)s, %(site_env)s, %(site_id)s, %(platform)s, %(status)s, %(store_id)s, %(platform_config)s,
        %(sparklayer_credentials)s, %(platform_credentials)s)
on conflict (id) do update set
    platform = excluded.platform,
    status = excluded.status,
    store_id = coalesce(excluded.store_id, connection.store_id),
    platform_config = excluded.platform_config,
    sparklayer_credentials = excluded.sparklayer_credentials,
    platform_credentials = coalesce(excluded.platform_credentials, connection.platform_credentials),
    updated_at = now()
"""
"""Insert or update a connection: a null `store_id` or `platform_credentials` keeps the stored one."""


def upsert_params(
    cipher: CredentialCipher,
    *,
    site_env: str,
    site_id: str,
    platform: str,
    status: str,
    sparklayer_credentials: dict[str, str],
    platform_config: dict[str, Any],
    platform_secrets: dict[str, str] | None,
    store_id: str | None = None,
) -> dict[str, Any]:
    """UPSERT_CONNECTION's parameters, secrets encrypted; `id` is the connection id."""
    if site_env not in SITE_ENVS:
        raise ConfigurationError(f"site environment must be live or test, not {site_env!r}")
    if problem := site_id_problem(site_id):
        raise ConfigurationError(problem)
    return {
        "id": connection_id_for(site_env, site_id),
        "site_env": site_env,
        "site_id": site_id,
        "platform": platform,
        "status": status,
        "store_id": store_id,
        "platform_config": Jsonb(platform_config),
        "sparklayer_credentials": cipher.encrypt_json(sparklayer_credentials),
        "platform_credentials": cipher.encrypt_json(platform_secrets) if platform_secrets is not None else None,
    }


def save_connection(conn: Conn, cipher: CredentialCipher, **fields: Any) -> str:
    """Insert or update a connection (fields as `upsert_params`); platform secrets left None keep the
    stored ones."""
    params = upsert_params(cipher, **fields)
    conn.execute(UPSERT_CONNECTION, params)
    return params["id"]


def save_webhook_registration(
    conn: Conn, cipher: CredentialCipher, connection_id: str, *, url: str, key: str, state: dict[str, Any]
) -> None:
    """The webhooks now registered for the connection: their URL, signing key (encrypted) and the
    platform's bookkeeping."""
    conn.execute(
        "update connection set webhook_url = %s, webhook_secret = %s, webhook_state = %s, updated_at = now()"
        " where id = %s",
        (url, cipher.encrypt(key), Jsonb(state), connection_id),
    )


def save_platform_secrets(conn: Conn, cipher: CredentialCipher, connection_id: str, secrets: dict[str, str]) -> None:
    """The connection's platform credentials, replaced (a platform renewed them, e.g. a refreshed token)."""
    conn.execute("update connection set platform_credentials = %s, updated_at = now() where id = %s",
                 (cipher.encrypt_json(secrets), connection_id))


def connection_status(conn: Conn, connection_id: str) -> str | None:
    """pending, connected or removing; None when there is no such connection."""
    row = conn.execute("select status from connection where id = %s", (connection_id,)).fetchone()
    return row["status"] if row else None


def connected_ids(conn: Conn) -> list[str]:
    """The connections that are connected (not pending, not being removed), in id order."""
    return [r["id"] for r in conn.execute("select id from connection where status = 'connected' order by id")]


def sparklayer_token(conn: Conn, connection_id: str) -> tuple[bytes, datetime] | None:
    """The connection's encrypted SparkLayer access token and its expiry; None when none is stored."""
    row = conn.execute(
        "select sparklayer_token, sparklayer_token_expires_at from connection where id = %s", (connection_id,)
    ).fetchone()
    if row is None or row["sparklayer_token"] is None or row["sparklayer_token_expires_at"] is None:
        return None
    return row["sparklayer_token"], row["sparklayer_token_expires_at"]


def save_sparklayer_token(conn: Conn, connection_id: str, encrypted: bytes, expires_at: datetime) -> bool:
    """False when the connection does not exist."""
    return conn.execute(
        """
        update connection set sparklayer_token = %s, sparklayer_token_expires_at = %s, updated_at = now()
        where id = %s
        """,
        (encrypted, expires_at, connection_id),
    ).rowcount > 0
