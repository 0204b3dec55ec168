"""The Dashboard API client against the simulator's Dashboard API over real HTTP: the contract we decided
(CONTRACTS.md, "SparkLayer Dashboard API"), enforced by the simulator, met by the client."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ignite_etl.sandbox.server import BackgroundServer
from ignite_etl.sandbox.sparklayer.sandbox import SparkLayerSandbox
from ignite_etl.sparklayer.dashboard import DashboardClient, DashboardRefused, DashboardUnavailable, Registration

TOKEN = "partner-token"
BOB = Registration(name="Bob", email="bob@bobs.test", company="Bob's Kettles", password="s3cret-pass",
                   platform="fakeshop", store_id="s1")


@pytest.fixture
def dashboard():
    sandbox = SparkLayerSandbox()
    connect_calls: list[dict] = []

    async def integration(request: Request):  # our connect endpoint, as SparkLayer reaches it
        connect_calls.append({"path": request.url.path, "authorization": request.headers.get("authorization"),
                              "body": json.loads(await request.body())})
        return JSONResponse({"connection_id": "x", "status": "connected", "redirect_url": None})

    with BackgroundServer(sandbox.app) as server, \
            BackgroundServer(Starlette(routes=[Route("/v1/{env}/{site}", integration, methods=["POST"])])) as ours:
        sandbox.dashboard.configure(token=TOKEN, integration_url=ours.url, integration_token="ingress-token")
        yield sandbox, f"{server.url}/dashboard", connect_calls


def run(coroutine):
    return asyncio.run(coroutine)


async def _register(url: str, registration: Registration, key: str, token: str = TOKEN):
    async with DashboardClient(url, token, retry_wait=0.01) as client:
        return await client.register(registration, idempotency_key=key)


def test_registration_creates_a_site_with_credentials_and_the_connect_call_reaches_the_integration(dashboard):
    sandbox, url, connect_calls = dashboard
    site = run(_register(url, BOB, "k1"))
    assert (site.site_env, site.site_id) == ("live", "bob-s-kettles") and site.user_id.startswith("us_")
    client_id, client_secret = sandbox.site_credentials("live", "bob-s-kettles")

    async def connect_and_steps():
        async with DashboardClient(url, TOKEN) as client:
            status = await client.create_platform_connection("live", "bob-s-kettles", platform="fakeshop", store_id="s1")
            sandbox.dashboard.wait_for_connect_calls()
            return status, await client.onboarding_steps("live", "bob-s-kettles")

    status, steps = run(connect_and_steps())
    assert status == "connecting"
    assert connect_calls == [{"path": "/v1/live/bob-s-kettles", "authorization": "Bearer ingress-token",
                              "body": {"store_id": "s1", "spark_api_client_id": client_id,
                                       "spark_api_client_secret": client_secret,
                                       "extra_config": {"platform": "fakeshop"}}}]
    assert {s.key: s.completed for s in steps} == {"account": True, "platform": True, "products": False,
                                                    "customers": False, "storefront": False}


def test_a_repeated_registration_with_its_key_answers_the_first_one_and_a_new_one_meets_409(dashboard):
    _, url, _ = dashboard
    first = run(_register(url, BOB, "k1"))
    assert run(_register(url, BOB, "k1")) == first  # the answer was lost; the retry gets it again
    with pytest.raises(DashboardRefused) as duplicate:
        run(_register(url, BOB, "k2"))
    assert duplicate.value.status == 409 and duplicate.value.problems[0]["property"] == "email"
    with pytest.raises(DashboardRefused) as reused:
        run(_register(url, Registration(**{**BOB.__dict__, "email": "eve@eve.test"}), "k1"))
    assert reused.value.status == 422


def test_the_simulator_refuses_what_the_contract_does_not_allow(dashboard):
    _, url, _ = dashboard
    with pytest.raises(DashboardRefused) as unauthorised:
        run(_register(url, BOB, "k1", token="wrong"))
    assert unauthorised.value.status == 401
    with pytest.raises(DashboardRefused) as invalid:
        run(_register(url, Registration(**{**BOB.__dict__, "email": "nope", "password": "short"}), "k1"))
    assert invalid.value.status == 400
    assert {p["property"] for p in invalid.value.problems} == {"email", "password"}
    extra = httpx.post(f"{url}/v1/users", json={**BOB.__dict__, "phone": "1"}, headers={"Authorization": f"Bearer {TOKEN}"})
    assert extra.status_code == 400 and extra.json()["errors"][0]["property"] == "phone"

    async def unknown_site():
        async with DashboardClient(url, TOKEN) as client:
            await client.create_platform_connection("live", "nobody", platform="fakeshop", store_id="s1")

    with pytest.raises(DashboardRefused) as missing:
        run(unknown_site())
    assert missing.value.status == 404


def test_the_client_retries_a_dashboard_that_fails_then_gives_up_clearly():
    answers = [503, 503, 201]

    async def flaky(request: Request):
        status = answers.pop(0) if answers else 503
        body = {"user_id": "u", "site_env": "live", "site_id": "s"} if status == 201 else {"detail": "busy"}
        return JSONResponse(body, status_code=status)

    with BackgroundServer(Starlette(routes=[Route("/v1/users", flaky, methods=["POST"])])) as server:
        assert run(_register(server.url, BOB, "k")).site_id == "s"
        with pytest.raises(DashboardUnavailable, match="did not answer register_user"):
            run(_register(server.url, BOB, "k"))
