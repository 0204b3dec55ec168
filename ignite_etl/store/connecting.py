"""The connection writes the ingress makes (async): on SparkLayer's connect and remove calls and on the
connect page. Each runs in the caller's transaction after `lock` took the connection's row."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from ignite_etl.store.cipher import CredentialCipher
from ignite_etl.store.connections import connection_id_for


async def lock(conn: psycopg.AsyncConnection, connection_id: str) -> dict | None:
    """The connection's status, platform and config, its row locked until commit; None when unknown."""
    cursor = await conn.execute(
        "select id, status, platform, platform_config from connection where id = %s for update", (connection_id,)
    )
    return await cursor.fetchone()


async def upsert(
    conn: psycopg.AsyncConnection,
    cipher: CredentialCipher,
    *,
    site_env: str,
    site_id: str,
    platform: str,
    status: str,
    store_id: str | None,
    sparklayer_credentials: dict[str, str],
    platform_config: dict[str, Any],
    platform_secrets: dict[str, str] | None,
) -> str:
    """Insert or update; `platform_secrets` None keeps the stored ones, `store_id` None the stored one."""
    connection_id = connection_id_for(site_env, site_id)
    await conn.execute(
        """
        insert into connection (id, site_env, site_id, platform, status, store_id, platform_config,
                                sparklayer_credentials, platform_credentials)
        values (%s, %s, %s, %s, %s, %s, %s, %s, %s)
        on conflict (id) do update set
            platform = excluded.platform,
            status = excluded.status,
            store_id = coalesce(excluded.store_id, connection.store_id),
            platform_config = excluded.platform_config,
            sparklayer_credentials = excluded.sparklayer_credentials,
            platform_credentials = coalesce(excluded.platform_credentials, connection.platform_credentials),
            updated_at = now()
        """,
        (
            connection_id, site_env, site_id, platform, status, store_id, Jsonb(platform_config),
            cipher.encrypt_json(sparklayer_credentials),
            cipher.encrypt_json(platform_secrets) if platform_secrets is not None else None,
        ),
    )
    return connection_id


async def complete(
    conn: psycopg.AsyncConnection, cipher: CredentialCipher, connection_id: str,
    platform_config: dict[str, Any], platform_secrets: dict[str, str],
) -> None:
    """The merchant supplied working platform credentials: the connection is connected."""
    await conn.execute(
        """
        update connection set status = 'connected', platform_config = %s, platform_credentials = %s,
                              updated_at = now()
        where id = %s
        """,
        (Jsonb(platform_config), cipher.encrypt_json(platform_secrets), connection_id),
    )


async def mark_removing(conn: psycopg.AsyncConnection, connection_id: str) -> None:
    await conn.execute(
        "update connection set status = 'removing', updated_at = now() where id = %s", (connection_id,)
    )
