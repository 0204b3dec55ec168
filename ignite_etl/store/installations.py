"""App-store installs (async, for the ingress): the OAuth state of an install in progress, the store's
settings once the platform handed them over, and the merchant's links to the registration and onboarding
pages. Only SHA-256 hashes of states and links are stored; secret settings are encrypted."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from typing import Any

from psycopg.types.json import Jsonb

from ignite_etl.store.cipher import CredentialCipher
from ignite_etl.store.database import AsyncConn


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


@dataclass(frozen=True)
class Installation:
    id: int
    platform: str
    store_id: str
    connection_id: str | None
    registered_email: str | None
    dashboard_url: str | None
    connect_requested_seconds_ago: float | None
    """How long ago we last asked SparkLayer to connect the store; None when never."""


@dataclass(frozen=True)
class InstalledSettings:
    config: dict[str, Any]
    secrets: dict[str, str] = field(repr=False)


async def save_state(conn: AsyncConn, state: str, platform: str, store_id: str, *, ttl_seconds: int) -> None:
    """The `state` of an install of `store_id`, valid for `ttl_seconds` and one callback."""
    await conn.execute("delete from install_state where expires_at < now() - interval '1 day'")
    await conn.execute(
        "insert into install_state (state_hash, platform, store_id, expires_at) "
        "values (%s, %s, %s, now() + make_interval(secs => %s))",
        (_hash(state), platform, store_id, ttl_seconds),
    )


async def state_for(conn: AsyncConn, state: str, platform: str, *, lock: bool = False) -> dict | None:
    """The unexpired state's store and whether a callback already used it; None when unknown or expired."""
    cursor = await conn.execute(
        f"""
        select store_id, used_at is not null as used from install_state
        where state_hash = %s and platform = %s and expires_at > now()
        {"for update" if lock else ""}
        """,
        (_hash(state), platform),
    )
    return await cursor.fetchone()


async def use_state(conn: AsyncConn, state: str) -> None:
    await conn.execute("update install_state set used_at = now() where state_hash = %s", (_hash(state),))


async def claim_proof(conn: AsyncConn, proof: str, platform: str, store_id: str, *, ttl_seconds: int) -> bool:
    """Spend the once-only id of a managed install's proof (kept beside the `state`s, already used); False
    when it was spent before."""
    cursor = await conn.execute(
        """
        insert into install_state (state_hash, platform, store_id, expires_at, used_at)
        values (%s, %s, %s, now() + make_interval(secs => %s), now())
        on conflict (state_hash) do nothing
        returning 1 as claimed
        """,
        (_hash(f"{platform}:proof:{proof}"), platform, store_id, ttl_seconds),
    )
    return await cursor.fetchone() is not None


async def save(conn: AsyncConn, cipher: CredentialCipher, platform: str, store_id: str,
               config: dict[str, Any], secret_settings: dict[str, str]) -> int:
    """Store (or, on a repeated install, replace) the store's settings; its registration is kept."""
    cursor = await conn.execute(
        """
        insert into installation (platform, store_id, platform_config, platform_credentials)
        values (%s, %s, %s, %s)
        on conflict (platform, store_id) do update set
            platform_config = excluded.platform_config,
            platform_credentials = excluded.platform_credentials,
            updated_at = now()
        returning id
        """,
        (platform, store_id, Jsonb(config), cipher.encrypt_json(secret_settings)),
    )
    row = await cursor.fetchone()
    assert row is not None
    return row["id"]


async def find(conn: AsyncConn, platform: str, store_id: str) -> int | None:
    cursor = await conn.execute("select id from installation where platform = %s and store_id = %s",
                                (platform, store_id))
    row = await cursor.fetchone()
    return row["id"] if row else None


async def issue_page_token(conn: AsyncConn, installation_id: int, *, ttl_seconds: int) -> str:
    token = secrets.token_urlsafe(32)
    await conn.execute("delete from install_page_token where expires_at < now()")
    await conn.execute(
        "insert into install_page_token (token_hash, installation_id, expires_at) "
        "values (%s, %s, now() + make_interval(secs => %s))",
        (_hash(token), installation_id, ttl_seconds),
    )
    return token


_INSTALLATION = """
select i.id, i.platform, i.store_id, i.connection_id, i.registered_email, i.dashboard_url,
       extract(epoch from now() - i.connect_requested_at)::float as connect_requested_seconds_ago
from installation i
"""


async def by_page_token(conn: AsyncConn, token: str, *, lock: bool = False) -> Installation | None:
    """The installation an unexpired page link belongs to; `lock` holds its row until commit."""
    cursor = await conn.execute(
        _INSTALLATION + f"""
        join install_page_token t on t.installation_id = i.id
        where t.token_hash = %s and t.expires_at > now()
        {"for update of i" if lock else ""}
        """,
        (_hash(token),),
    )
    row = await cursor.fetchone()
    return Installation(**row) if row else None


async def register(conn: AsyncConn, installation_id: int, *, connection_id: str, email: str,
                   dashboard_url: str | None) -> None:
    """SparkLayer registered the merchant and created the site the store connects to."""
    await conn.execute(
        """
        update installation set connection_id = %s, registered_email = %s, dashboard_url = %s, updated_at = now()
        where id = %s
        """,
        (connection_id, email, dashboard_url, installation_id),
    )


async def connect_requested(conn: AsyncConn, installation_id: int) -> None:
    await conn.execute("update installation set connect_requested_at = now() where id = %s", (installation_id,))


async def settings_for_connection(conn: AsyncConn, cipher: CredentialCipher, platform: str, store_id: str,
                                  connection_id: str) -> InstalledSettings | None:
    """The installed store's settings, when SparkLayer's connect call is for the site its registration
    created; None otherwise (a connect call cannot claim another site's store)."""
    cursor = await conn.execute(
        """
        select platform_config, platform_credentials from installation
        where platform = %s and store_id = %s and connection_id = %s
        """,
        (platform, store_id, connection_id),
    )
    row = await cursor.fetchone()
    if row is None:
        return None
    secret_settings = cipher.decrypt_json(row["platform_credentials"]) if row["platform_credentials"] else {}
    return InstalledSettings(dict(row["platform_config"] or {}), secret_settings)


@dataclass(frozen=True)
class Progress:
    """How far the connection an installation registered has come, as our own records say."""

    status: str | None  # the connection's status; None before SparkLayer's connect call arrived
    first_sync_done: bool


async def progress(conn: AsyncConn, connection_id: str) -> Progress:
    cursor = await conn.execute(
        """
        select (select status from connection where id = %(id)s) as status,
               exists (select 1 from sync_run where connection_id = %(id)s and kind = 'full'
                       and data_type = 'products' and succeeded) as first_sync_done
        """,
        {"id": connection_id},
    )
    row = await cursor.fetchone()
    assert row is not None
    return Progress(row["status"], row["first_sync_done"])
