"""Where a SparkLayer access token waits between runs: encrypted on the connection row in Postgres,
or in memory for tests and one-off scripts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from pydantic import SecretStr

from ignite_etl.errors import ConfigurationError
from ignite_etl.store import connections
from ignite_etl.store.cipher import CredentialCipher
from ignite_etl.store.database import connect


@dataclass(frozen=True)
class StoredToken:
    access_token: SecretStr
    expires_at: datetime


class TokenStore(Protocol):
    def load(self) -> StoredToken | None: ...

    def save(self, token: StoredToken) -> None: ...


class InMemoryTokenStore:
    def __init__(self, token: StoredToken | None = None):
        self._token = token
        self.saves = 0

    def __repr__(self) -> str:
        return "InMemoryTokenStore(<token hidden>)"

    def load(self) -> StoredToken | None:
        return self._token

    def save(self, token: StoredToken) -> None:
        self._token = token
        self.saves += 1


class PostgresTokenStore:
    """Reads and writes `connection.sparklayer_token` (encrypted) and `sparklayer_token_expires_at`."""

    def __init__(self, database_url: str, connection_id: str, cipher: CredentialCipher):
        self._database_url = database_url
        self.connection_id = connection_id
        self._cipher = cipher

    def __repr__(self) -> str:
        return f"PostgresTokenStore(connection_id={self.connection_id!r})"

    def load(self) -> StoredToken | None:
        with connect(self._database_url) as conn:
            stored = connections.sparklayer_token(conn, self.connection_id)
        if stored is None:
            return None
        encrypted, expires_at = stored
        return StoredToken(access_token=SecretStr(self._cipher.decrypt(encrypted)), expires_at=expires_at)

    def save(self, token: StoredToken) -> None:
        encrypted = self._cipher.encrypt(token.access_token.get_secret_value())
        with connect(self._database_url) as conn:
            saved = connections.save_sparklayer_token(conn, self.connection_id, encrypted, token.expires_at)
        if not saved:
            raise ConfigurationError(
                f"connection {self.connection_id!r} does not exist, so its SparkLayer token cannot be stored; "
                "connect the site again from the SparkLayer Dashboard"
            )
