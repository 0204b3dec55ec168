"""The ingress served by uvicorn on a loopback port over the test database, and a client that speaks to it."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import pytest

from ignite_etl.ingress.app import create_app
from ignite_etl.ingress.config import IngressConfig
from ignite_etl.ingress.server import ServerLimits
from ignite_etl.sandbox.server import BackgroundServer
from ignite_etl.store.cipher import CredentialCipher
from ignite_etl.store.database import connect

INGRESS_TOKEN = "test-ingress-token-0123456789"
PUBLIC_URL = "https://ignite.example.test"
SITE_ENV, SITE_ID = "test", "bobs-store"
CONNECTION_ID = f"{SITE_ENV}-{SITE_ID}"
SITE_PATH = f"/v1/{SITE_ENV}/{SITE_ID}"
SERVER_LIMITS = ServerLimits(header_timeout_seconds=1.0)
"""The production server settings, with a header deadline short enough to test."""


@dataclass
class RunningIngress:
    url: str
    database_url: str
    client: httpx.Client
    """Sends SparkLayer's bearer token on every call."""

    def anonymous(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30)

    def rows(self, query: str, params=()) -> list[dict]:
        with connect(self.database_url) as conn:
            return list(conn.execute(query, params))

    def local_path(self, url: str) -> str:
        """A redirect URL (built on the public URL) as a path on this server."""
        assert url.startswith(PUBLIC_URL + "/"), url
        return url[len(PUBLIC_URL):]


SHOPIFY_APP = {"client_id": "ingress-test-shopify-app", "client_secret": "ingress-test-shopify-secret"}


def ingress_config(database_url: str, secret_key: str, **overrides) -> IngressConfig:
    options = dict(database_url=database_url, secret_key=secret_key, ingress_token=INGRESS_TOKEN,
                   public_url=PUBLIC_URL, max_body_bytes=16_384, body_timeout_seconds=1.0, pool_min_size=1, pool_max_size=4,
                   platform_time_scale=0.001, outbound_policy="loopback", platform_apps={"shopify": SHOPIFY_APP})
    options.update(overrides)
    return IngressConfig(**options)


@pytest.fixture(scope="session")
def secret_key() -> str:
    """One key for the session, so one ingress server serves every test here."""
    return CredentialCipher.generate_key()


@pytest.fixture(scope="session")
def ingress_server(migrated_database_url, secret_key):
    with BackgroundServer(create_app(ingress_config(migrated_database_url, secret_key)),
                          **SERVER_LIMITS.uvicorn_options()) as server:
        yield server


@pytest.fixture
def ingress(database_url, ingress_server):
    """The ingress over an emptied database."""
    with httpx.Client(base_url=ingress_server.url, timeout=30,
                      headers={"Authorization": f"Bearer {INGRESS_TOKEN}"}) as client:
        yield RunningIngress(ingress_server.url, database_url, client)
