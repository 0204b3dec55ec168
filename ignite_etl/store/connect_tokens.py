"""One-time tokens of the connect page (`/connect/{token}`): issued for a pending connection, used once.

Only a token's SHA-256 is stored; the token itself exists only in the redirect URL.
"""

from __future__ import annotations

import hashlib
import secrets

from ignite_etl.store.database import AsyncConn


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def issue(conn: AsyncConn, connection_id: str, *, ttl_seconds: int) -> str:
    """A new token for the connection; earlier unused ones stop working, so only the newest link does."""
    token = secrets.token_urlsafe(32)
    await conn.execute("delete from connect_token where connection_id = %s and used_at is null", (connection_id,))
    await conn.execute(
        """
        insert into connect_token (token_hash, connection_id, expires_at)
        values (%s, %s, now() + make_interval(secs => %s))
        """,
        (_hash(token), connection_id, ttl_seconds),
    )
    return token


async def valid_connection(conn: AsyncConn, token: str, *, lock: bool = False) -> str | None:
    """The connection a usable (unused, unexpired) token belongs to, else None; `lock` holds it until commit."""
    cursor = await conn.execute(
        f"""
        select connection_id from connect_token
        where token_hash = %s and used_at is null and expires_at > now()
        {"for update" if lock else ""}
        """,
        (_hash(token),),
    )
    row = await cursor.fetchone()
    return row["connection_id"] if row else None


async def use(conn: AsyncConn, token: str) -> None:
    await conn.execute("update connect_token set used_at = now() where token_hash = %s", (_hash(token),))
