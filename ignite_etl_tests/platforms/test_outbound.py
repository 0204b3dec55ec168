"""The outbound policy for merchant-entered store URLs, under a socket guard that refuses (and records) any
connection off loopback, so a wrong policy would show as a recorded attempt, never as a packet sent."""

from __future__ import annotations

import httpx
import pytest

from ignite_etl.platforms import PlatformError, platform_for
from ignite_etl.platforms.marketplacer.client import MarketplacerClient
from ignite_etl.platforms.outbound import PUBLIC_ONLY, SANDBOX, OutboundPolicy, RefusedAddress
from ignite_etl.sandbox.server import BackgroundServer

QUERY = "{ allAdverts(first: 1) { totalCount } }"
NEVER_CALLED = [
    "https://169.254.169.254/latest/meta-data/",  # cloud metadata
    "https://2852039166/graphql",  # 169.254.169.254 as one decimal number
    "https://0251.0376.0251.0376/graphql",  # ... in octal
    "https://0xa9fea9fe/graphql",  # ... in hex
    "https://[::ffff:169.254.169.254]/graphql",  # ... mapped into IPv6
    "https://[64:ff9b::a9fe:a9fe]/graphql",  # ... through NAT64
    "https://10.0.0.1/graphql", "https://192.168.1.1/graphql", "https://172.16.0.1/graphql",
    "https://100.64.0.1/graphql", "https://[fe80::1]/graphql", "https://[fd00::1]/graphql",
    "https://0.0.0.0/graphql", "https://224.0.0.1/graphql",
]


@pytest.mark.parametrize("url", NEVER_CALLED)
@pytest.mark.parametrize("policy", [PUBLIC_ONLY, SANDBOX], ids=["public", "sandbox"])
def test_private_and_link_local_targets_are_refused_before_any_connection(loopback_only, url, policy):
    with pytest.raises(RefusedAddress, match="public internet address|not a valid URL"):
        MarketplacerClient(url, "the-key", outbound=policy, time_scale=0).execute(QUERY)

    assert loopback_only.refused == []  # refused by the policy, not by the test's guard


@pytest.mark.parametrize("url,message", [
    ("http://store.example.com/graphql", "https://"),
    ("https://user:pw@store.example.com/graphql", "without a user name"),
    ("https://127.0.0.1/graphql", "public internet address"),
    ("https://localhost/graphql", "public internet address"),
])
def test_the_production_policy_refuses_plain_http_credentials_in_urls_and_this_machine(loopback_only, url, message):
    with pytest.raises(RefusedAddress, match=message):
        MarketplacerClient(url, "k", outbound=PUBLIC_ONLY, time_scale=0).execute(QUERY)

    assert loopback_only.refused == []


def test_a_name_that_resolves_to_a_private_address_is_refused(loopback_only):
    rebinding = OutboundPolicy(resolve=lambda host, port: ["93.184.216.34", "10.0.0.7"])

    with pytest.raises(RefusedAddress):
        MarketplacerClient("https://shop.example.com/graphql", "k", outbound=rebinding, time_scale=0).execute(QUERY)

    assert loopback_only.refused == []


def test_the_request_goes_to_the_checked_address_with_the_name_kept_for_the_host_header(loopback_only):
    seen = {}

    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        seen["host"] = dict(scope["headers"])[b"host"].decode()
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": b'{"data": {"ok": true}}'})

    lookups = []

    def resolve(host, port):
        lookups.append(host)
        return ["127.0.0.1"]

    with BackgroundServer(app) as server:
        port = httpx.URL(server.url).port
        client = MarketplacerClient(f"http://shop.example.com:{port}/graphql", "k",
                                    outbound=OutboundPolicy(allow_loopback=True, resolve=resolve))
        assert client.execute(QUERY) == {"ok": True}

    assert lookups == ["shop.example.com"]
    assert seen["host"] == f"shop.example.com:{port}"
    assert loopback_only.refused == []


def test_a_redirect_is_not_followed(loopback_only):
    requests = []

    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        requests.append(scope["path"])
        await send({"type": "http.response.start", "status": 307,
                    "headers": [(b"location", b"https://169.254.169.254/latest/meta-data/")]})
        await send({"type": "http.response.body", "body": b""})

    with BackgroundServer(app) as server:
        with pytest.raises(PlatformError, match="redirect"):
            MarketplacerClient(f"{server.url}/graphql", "k", outbound=SANDBOX, time_scale=0).execute(QUERY)

    assert requests == ["/graphql"]
    assert loopback_only.refused == []


def test_syncs_use_the_policy_too(loopback_only):
    platform = platform_for("marketplacer", {"marketplacer_api_url": "https://2852039166/graphql", "currency": "AUD"},
                            {"marketplacer_api_key": "k"}, outbound=PUBLIC_ONLY, time_scale=0)

    with pytest.raises(RefusedAddress):
        list(platform.iter_catalogue())

    assert loopback_only.refused == []


def test_a_policy_name_other_than_public_or_loopback_is_refused():
    with pytest.raises(ValueError, match="public, loopback"):
        OutboundPolicy.named("anything")


def test_the_guard_refuses_and_records_what_a_wrong_policy_would_have_sent(loopback_only):
    everything = OutboundPolicy(resolve=lambda host, port: ["8.8.8.8"])  # "public", so allowed: the guard stops it

    with pytest.raises(PlatformError):
        MarketplacerClient("https://169.254.169.254/graphql", "k", outbound=everything, time_scale=0).execute(QUERY)

    assert loopback_only.refused and all(kind == "connect" and address[0] == "8.8.8.8"
                                         for kind, address in loopback_only.refused)
