"""Resources shared by every asset, sensor and job, wired from the environment with EnvVar."""

from __future__ import annotations

import dagster as dg
from pydantic import PrivateAttr

from ignite_etl.store.cipher import CredentialCipher
from ignite_etl.store.database import connect


class AppDatabase(dg.ConfigurableResource):
    """The app database (connections, inbox, queue, sync state) and the key for stored credentials."""

    url: str
    secret_key: str

    _cipher: CredentialCipher | None = PrivateAttr(default=None)

    def connect(self, *, autocommit: bool = False):
        return connect(self.url, autocommit=autocommit)

    @property
    def cipher(self) -> CredentialCipher:
        if self._cipher is None:
            self._cipher = CredentialCipher(self.secret_key)
        return self._cipher


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(
        resources={
            "app_db": AppDatabase(
                url=dg.EnvVar("IGNITE_DATABASE_URL"),
                secret_key=dg.EnvVar("IGNITE_SECRET_KEY"),
            ),
        }
    )
