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


async def revoke(conn: AsyncConn, connection_id: str) -> None:
    """No link of the connection works any more: it completed (by any path) or is being removed."""
    await conn.execute("delete from connect_token where connection_id = %s", (connection_id,))


async def begin_check(conn: AsyncConn, token: str, *, max_attempts: int, hold_seconds: float) -> str:
    """Take one of the link's attempts and hold the link while its check runs: `ok`, or why not:
    `busy` (another check of it is running), `exhausted` (no attempts left) or `unusable`."""
    cursor = await conn.execute(
        """
        update connect_token
        set attempts = attempts + 1, checking_until = now() + make_interval(secs => %s)
        where token_hash = %s and used_at is null and expires_at > now() and attempts < %s
          and (checking_until is null or checking_until < now())
        returning attempts
        """,
        (hold_seconds, _hash(token), max_attempts),
    )
    if await cursor.fetchone():
        return "ok"
    cursor = await conn.execute(
        """
        select attempts >= %s as exhausted, checking_until > now() as busy from connect_token
        where token_hash = %s and used_at is null and expires_at > now()
        """,
        (max_attempts, _hash(token)),
    )
    row = await cursor.fetchone()
    if row is None:
        return "unusable"
    return "busy" if row["busy"] else "exhausted"


async def end_check(conn: AsyncConn, token: str) -> None:
    await conn.execute("update connect_token set checking_until = null where token_hash = %s", (_hash(token),))
