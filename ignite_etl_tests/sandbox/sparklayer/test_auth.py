"""The sandbox's token endpoint and bearer checks refuse what SparkLayer refuses."""

from __future__ import annotations

from ignite_etl_tests.sandbox.sparklayer.conftest import SECRET, SITE, Api


def test_token_answer_has_access_token_and_configured_lifetime(api, sandbox):
    sandbox.set_token_lifetime(2)

    answer = api.token()

    assert answer.status_code == 200
    assert answer.json()["expires_in"] == 2 and answer.json()["access_token"]


def test_form_encoded_token_request_is_refused(api):
    answer = api.http.post(
        "/api/auth/token",
        data={"grant_type": "client_credentials", "client_id": "bob", "client_secret": SECRET},
        headers={"Site-Id": SITE},
    )

    assert answer.status_code == 400
    assert answer.headers["content-type"] == "application/problem+json"
    assert "JSON" in answer.json()["detail"]


def test_wrong_secret_and_unknown_site_are_refused(api, server):
    assert api.token(client_secret="nope").status_code == 401
    assert Api(server.url, site_id="someone-else").token().status_code == 401


def test_token_request_without_site_id_is_refused(api):
    answer = api.http.post(
        "/api/auth/token", json={"grant_type": "client_credentials", "client_id": "bob", "client_secret": SECRET}
    )

    assert answer.status_code == 400
    assert "Site-Id" in answer.json()["detail"]


def test_wrong_grant_type_is_refused(api):
    answer = api.http.post(
        "/api/auth/token", json={"grant_type": "password", "client_id": "bob", "client_secret": SECRET}, headers={"Site-Id": SITE}
    )

    assert answer.status_code == 400
    assert answer.json()["errors"][0]["property"] == "grant_type"


def test_missing_invalid_and_expired_tokens_get_401(api, clock):
    token = api.token().json()["access_token"]

    assert api.http.get("/api/v1/settings", headers={"Site-Id": SITE}).status_code == 401
    assert api.call("GET", "/api/v1/settings", token="made-up").status_code == 401
    assert api.call("GET", "/api/v1/settings", token=token).status_code == 200
    clock.advance(3600)
    assert api.call("GET", "/api/v1/settings", token=token).status_code == 401


def test_a_token_works_only_for_its_own_site_and_environment(api, sandbox, server):
    sandbox.add_site("test", "other-store", "bob", SECRET)
    sandbox.add_site("live", SITE, "bob", SECRET)
    token = api.token().json()["access_token"]

    assert Api(server.url, site_id="other-store").call("GET", "/api/v1/settings", token=token).status_code == 401
    assert Api(server.url, env="live").call("GET", "/api/v1/settings", token=token).status_code == 401


def test_each_environment_and_site_keeps_its_own_data(api, sandbox, server):
    sandbox.add_site("live", SITE, "bob", SECRET)
    live = Api(server.url, env="live")

    api.call("PATCH", "/api/v1/settings", json=[{"key": "baseCurrency", "value": "AUD"}])
    live.call("PATCH", "/api/v1/settings", json=[{"key": "baseCurrency", "value": "NZD"}])

    assert sandbox.state("test", SITE)["settings"]["baseCurrency"] == "AUD"
    assert sandbox.state("live", SITE)["settings"]["baseCurrency"] == "NZD"
