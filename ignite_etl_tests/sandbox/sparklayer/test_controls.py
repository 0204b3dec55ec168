"""The sandbox's rate limit, faults, journal and `/_sandbox/` controls."""

from __future__ import annotations

import httpx

from ignite_etl_tests.sandbox.sparklayer.conftest import SECRET, SITE, Api


def test_rate_limit_answers_429_with_retry_after(api, sandbox):
    api.token()
    sandbox.set_rate_limit(2, window_seconds=30)

    answers = [api.call("GET", "/api/v1/settings") for _ in range(3)]

    assert [a.status_code for a in answers] == [200, 200, 429]
    assert 1 <= int(answers[2].headers["Retry-After"]) <= 30
    assert answers[2].json()["status"] == 429


def test_rate_limit_counts_each_site_separately(api, sandbox, server):
    sandbox.add_site("test", "other", "bob", SECRET)
    other = Api(server.url, site_id="other")
    api.token(), other.token()
    sandbox.set_rate_limit(1, window_seconds=30)

    assert api.call("GET", "/api/v1/settings").status_code == 200
    assert other.call("GET", "/api/v1/settings").status_code == 200


def test_outage_and_fail_next_answer_errors_then_recover(api, sandbox):
    api.token()
    sandbox.start_outage(30)
    assert api.call("GET", "/api/v1/settings").status_code == 503
    sandbox.set_faults(outage_until=None)
    sandbox.fail_next(1, 500, path_contains="/settings")

    assert [api.call("GET", "/api/v1/settings").status_code for _ in range(2)] == [500, 200]
    assert [e.fault for e in sandbox.journal(path_contains="/settings")] == ["outage", "fail_next:500", None]


def test_error_rate_fails_a_share_of_calls(api, sandbox):
    api.token()
    sandbox.set_faults(error_rate=0.5)

    codes = [api.call("GET", "/api/v1/settings").status_code for _ in range(40)]

    assert 5 < codes.count(500) < 35 and codes.count(200) == 40 - codes.count(500)


def test_batches_over_500_items_are_refused(api, sandbox):
    items = [{"sku": f"S{n}", "stock_location_external_id": "default", "stock_level": 1} for n in range(501)]

    assert api.call("POST", "/api/v1/batch-update-stock", json=items).status_code == 400
    assert sandbox.journal(path_contains="batch-update-stock")[0].item_count == 501


def test_journal_records_calls_without_secrets_or_tokens(api, sandbox):
    token = api.token().json()["access_token"]
    api.call("GET", "/api/v1/settings")

    entries = sandbox.journal(site_id=SITE)
    assert [(e.method, e.path, e.status) for e in entries] == [
        ("POST", "/test/api/auth/token", 200), ("GET", "/test/api/v1/settings", 200)
    ]
    assert SECRET not in repr(entries) and token not in repr(entries)
    assert SECRET not in repr(sandbox) and SECRET not in repr(sandbox.state("test", SITE))


def test_unknown_environment_is_a_404(server):
    answer = httpx.post(f"{server.url}/staging/api/auth/token", json={}, headers={"Site-Id": SITE})

    assert answer.status_code == 404


def test_sandbox_controls_over_http(server):
    admin = httpx.Client(base_url=f"{server.url}/_sandbox", timeout=10)
    created = admin.post("/sites", json={"env": "live", "site_id": "web-shop", "client_id": "w", "client_secret": "ws"})
    admin.put("/token-lifetime", json={"seconds": 2})
    admin.put("/faults", json={"fail_next": {"count": 1, "status": 502, "path_contains": "/settings"}})
    live = Api(server.url, env="live", site_id="web-shop")

    token = live.token(client_id="w", client_secret="ws").json()
    codes = [live.call("PATCH", "/api/v1/settings", token=token["access_token"], json=[{"key": "baseCurrency", "value": "GBP"}]).status_code
             for _ in range(2)]
    state = admin.get("/sites/live/web-shop").json()
    journal = admin.get("/journal", params={"site_id": "web-shop"}).json()

    assert created.status_code == 201 and token["expires_in"] == 2
    assert codes == [502, 204]
    assert state["settings"]["baseCurrency"] == "GBP"
    assert [e["status"] for e in journal] == [200, 502, 204]
    assert admin.post("/reset").status_code == 204 and admin.get("/journal").json() == []
