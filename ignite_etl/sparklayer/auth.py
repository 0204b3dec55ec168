"""SparkLayer access tokens: reused from the token store until shortly before expiry, fetched anew
when they run out or SparkLayer refuses one."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from pydantic import SecretStr

from ignite_etl.sparklayer.models import TokenAnswer
from ignite_etl.sparklayer.token_store import StoredToken, TokenStore

log = logging.getLogger(__name__)

REFRESH_MARGIN = timedelta(seconds=60)


def utc_now() -> datetime:
    return datetime.now(UTC)


class TokenProvider:
    """Hands out one valid token to many concurrent requests; only one of them fetches a new one."""

    def __init__(
        self,
        fetch: Callable[[], Awaitable[TokenAnswer]],
        store: TokenStore,
        *,
        clock: Callable[[], datetime] = utc_now,
        refresh_margin: timedelta = REFRESH_MARGIN,
    ):
        self._fetch = fetch
        self._store = store
        self._clock = clock
        self._margin = refresh_margin
        self._current: StoredToken | None = None
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return "TokenProvider(<token hidden>)"

    async def token(self) -> str:
        async with self._lock:
            if not self._usable(self._current):
                stored = await asyncio.to_thread(self._store.load)
                self._current = stored if self._usable(stored) else await self._fetch_and_store()
            assert self._current is not None
            return self._current.access_token.get_secret_value()

    async def replace_rejected(self, rejected: str) -> None:
        """SparkLayer answered 401 to `rejected`: fetch a fresh token unless another request already did."""
        async with self._lock:
            if self._current is None or self._current.access_token.get_secret_value() == rejected:
                log.info("SparkLayer refused the access token; fetching a new one")
                self._current = await self._fetch_and_store()

    def _usable(self, token: StoredToken | None) -> bool:
        return token is not None and token.expires_at - self._margin > self._clock()

    async def _fetch_and_store(self) -> StoredToken:
        answer = await self._fetch()
        token = StoredToken(
            access_token=SecretStr(answer.access_token),
            expires_at=self._clock() + timedelta(seconds=answer.expires_in),
        )
        await asyncio.to_thread(self._store.save, token)
        return token
