"""The SparkLayer sandbox on real HTTP, and a raw httpx helper that speaks to it as SparkLayer's
documented callers do (no project client involved)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import httpx
import pytest

from ignite_etl.sandbox.server import BackgroundServer
from ignite_etl.sandbox.sparklayer import SparkLayerSandbox

SITE = "bobs-store"
SECRET = "site-secret-value"


class ManualClock:
    def __init__(self):
        self.now = datetime(2025, 1, 1, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class Api:
    """Raw calls against one environment of the sandbox."""

    def __init__(self, url: str, env: str = "test", site_id: str = SITE):
        self.http = httpx.Client(base_url=f"{url}/{env}", timeout=10)
        self.site_id = site_id
        self._token: str | None = None

    def token(self, client_id: str = "bob", client_secret: str = SECRET) -> httpx.Response:
        """Request a token; a granted one is kept for later `call`s."""
        answer = self.http.post(
            "/api/auth/token",
            json={"grant_type": "client_credentials", "client_id": client_id, "client_secret": client_secret},
            headers={"Site-Id": self.site_id},
        )
        if answer.status_code == 200:
            self._token = answer.json()["access_token"]
        return answer

    def call(self, method: str, path: str, *, token: str | None = None, **kwargs) -> httpx.Response:
        if token is None:
            if self._token is None:
                self.token()
            token = self._token
        headers = {"Authorization": f"Bearer {token}", "Site-Id": self.site_id, **kwargs.pop("headers", {})}
        return self.http.request(method, path, headers=headers, **kwargs)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def sandbox(clock) -> SparkLayerSandbox:
    sandbox = SparkLayerSandbox(clock=clock)
    sandbox.add_site("test", SITE, "bob", SECRET, customer_groups=["trade"])
    return sandbox


@pytest.fixture
def server(sandbox):
    with BackgroundServer(sandbox.app) as server:
        yield server


@pytest.fixture
def api(server) -> Api:
    return Api(server.url)
