"""The connection writes the ingress makes (async): on SparkLayer's connect and remove calls and on the
connect page. Each runs in the caller's transaction after `lock` took the connection's row."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from psycopg.types.json import Jsonb

from ignite_etl.store import connect_tokens, inbox
from ignite_etl.store.cipher import CredentialCipher
from ignite_etl.store.connections import UPSERT_CONNECTION, upsert_params
from ignite_etl.store.database import AsyncConn


async def lock(conn: AsyncConn, connection_id: str) -> dict | None:
    """The connection's status, platform and config, its row locked until commit; None when unknown."""
    return await read(conn, connection_id, lock=True)


async def status(conn: AsyncConn, connection_id: str) -> str | None:
    cursor = await conn.execute("select status from connection where id = %s", (connection_id,))
    row = await cursor.fetchone()
    return row["status"] if row else None


async def read(conn: AsyncConn, connection_id: str, *, lock: bool = False) -> dict | None:
    """The connection's status, platform and config (its row locked until commit with `lock`)."""
    cursor = await conn.execute(
        f"select id, status, platform, platform_config from connection where id = %s{' for update' if lock else ''}",
        (connection_id,),
    )
    return await cursor.fetchone()


async def webhook_key(conn: AsyncConn, connection_id: str) -> dict | None:
    """The connection's platform and its encrypted webhook signing key (None while none is registered)."""
    cursor = await conn.execute("select platform, webhook_secret from connection where id = %s", (connection_id,))
    return await cursor.fetchone()


async def upsert(conn: AsyncConn, cipher: CredentialCipher, **fields: Any) -> str:
    """Insert or update (fields as `connections.upsert_params`); `platform_secrets` None keeps the
    stored ones, `store_id` None the stored one."""
    params = upsert_params(cipher, **fields)
    await conn.execute(UPSERT_CONNECTION, params)
    if fields.get("status") == "connected":
        await connect_tokens.revoke(conn, params["id"])
    return params["id"]


async def complete(
    conn: AsyncConn, cipher: CredentialCipher, connection_id: str, platform: str,
    platform_config: dict[str, Any], platform_secrets: dict[str, str],
) -> None:
    """The merchant supplied working credentials of `platform`: the connection is connected."""
    await conn.execute(
        """
        update connection set status = 'connected', platform = %s, platform_config = %s, platform_credentials = %s,
                              updated_at = now()
        where id = %s
        """,
        (platform, Jsonb(platform_config), cipher.encrypt_json(platform_secrets), connection_id),
    )
    await connect_tokens.revoke(conn, connection_id)


async def request_removal(conn: AsyncConn, connection_id: str) -> bool:
    """Mark the connection removing and queue its removal for the lifecycle sensor, once (again after a
    failed removal); False for an unknown connection. Runs in the caller's transaction."""
    existing = await lock(conn, connection_id)
    if existing is None:
        return False
    if existing["status"] != "removing":
        await mark_removing(conn, connection_id)
    if not await inbox.has_open_removal(conn, connection_id):
        await inbox.record(conn, connection_id, inbox.REMOVE)
    return True


async def mark_removing(conn: AsyncConn, connection_id: str) -> None:
    await conn.execute(
        "update connection set status = 'removing', updated_at = now() where id = %s", (connection_id,)
    )
    await connect_tokens.revoke(conn, connection_id)


@dataclass(frozen=True)
class PlatformAccess:
    """What the ingress needs to call a connection's platform itself (customer calls): its platform and
    settings, the secret ones decrypted."""

    status: str
    platform: str
    config: dict[str, Any]
    secrets: dict[str, str] = field(repr=False)


async def platform_access(conn: AsyncConn, cipher: CredentialCipher, connection_id: str) -> PlatformAccess | None:
    cursor = await conn.execute(
        "select status, platform, platform_config, platform_credentials from connection where id = %s",
        (connection_id,),
    )
    row = await cursor.fetchone()
    if row is None:
        return None
    secrets = cipher.decrypt_json(row["platform_credentials"]) if row["platform_credentials"] else {}
    return PlatformAccess(row["status"], row["platform"], dict(row["platform_config"] or {}), secrets)
