"""The platform-initiated connection flow end to end over real HTTP, without a browser: FakeShop's app store
(a test-only platform with an install flow) → our install link → FakeShop's authorisation → our callback →
the registration page → SparkLayer's (simulated) Dashboard API → SparkLayer's connect call → completion →
full sync → the onboarding page. Then the same with every step reloaded, and with an email SparkLayer
already knows."""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin

import httpx
import pytest

from ignite_etl.platforms import register, unregister
from ignite_etl.sandbox.sparklayer.sandbox import SparkLayerSandbox
from ignite_etl_tests.platforms import fakeshop

from .conftest import APP, InstallStack, running_stack
from .test_end_to_end import settle

MERCHANT = {"name": "Bob Baker", "email": "bob@bobs.test", "company": "Bob's Kettles", "password": "correct horse 1"}
SITE = ("live", "bob-s-kettles")
CONNECTION_ID = "live-bob-s-kettles"


class _Form(HTMLParser):
    """The first form of a page: its action and its inputs' values."""

    def __init__(self):
        super().__init__()
        self.action: str | None = None
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and self.action is None:
            self.action = attrs.get("action") or ""
        elif tag == "input" and attrs.get("name"):
            self.fields[attrs["name"]] = attrs.get("value") or ""


def form_of(page: httpx.Response) -> tuple[str, dict[str, str]]:
    parser = _Form()
    parser.feed(page.text)
    return urljoin(str(page.url), parser.action or str(page.url)), parser.fields


@dataclass
class Merchant:
    """A browser without JavaScript: follows redirects, submits forms, keeps every URL it visited."""

    client: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=30, follow_redirects=True))
    visited: list[str] = field(default_factory=list)

    def get(self, url: str) -> httpx.Response:
        return self._seen(self.client.get(url))

    def submit(self, page: httpx.Response, **values: str) -> httpx.Response:
        action, fields = form_of(page)
        return self._seen(self.client.post(action, data={**fields, **values}))

    def _seen(self, response: httpx.Response) -> httpx.Response:
        self.visited += [str(r.url) for r in response.history] + [str(response.url)]
        return response

    def url_matching(self, pattern: str) -> str:
        return next(url for url in reversed(self.visited) if re.search(pattern, url))


def install(env: InstallStack, merchant: Merchant, store: str = "s1") -> httpx.Response:
    """From the app store's Install button to our registration page."""
    authorize = merchant.get(f"{env.admin_url}/apps/sparklayer/install?store={store}")
    assert f"Install SparkLayer on {store}?" in authorize.text
    return merchant.submit(authorize)


def connected_and_synced(env: InstallStack) -> None:
    env.sparklayer.dashboard.wait_for_connect_calls()
    settle(env.lifecycle)


def test_install_register_connect_sync_and_onboard(install_stack):
    env, merchant = install_stack, Merchant()
    registration = install(env, merchant)
    assert registration.status_code == 200
    assert re.search(r"/app/[^/]+/register$", str(registration.url))
    assert "SparkLayer is installed on your FakeShop store <strong>s1</strong>" in registration.text
    (installed,) = env.rows("select * from installation")
    assert (installed["platform"], installed["store_id"], installed["connection_id"]) == ("fakeshop", "s1", None)
    assert fakeshop.GOOD_KEY.encode() not in bytes(installed["platform_credentials"])  # encrypted
    assert installed["platform_config"] == {"fake_store": "s1", "currency": "NZD"}

    onboarding = merchant.submit(registration, **MERCHANT)
    assert onboarding.status_code == 200
    assert re.search(r"/app/[^/]+/onboarding$", str(onboarding.url))
    assert 'http-equiv="refresh"' in onboarding.text  # updates itself until the first sync is done

    connected_and_synced(env)
    user = env.sparklayer.dashboard.registered["bob@bobs.test"]
    assert (user.site_env, user.site_id) == SITE and user.connect_calls == [
        {"status_code": 200, "answer": {"connection_id": CONNECTION_ID, "status": "connected", "redirect_url": None}}]
    assert [(r.job_def.name, r.success) for r in env.lifecycle.launched] == [("complete_connection", True),
                                                                             ("full_sync", True)]
    site = env.sparklayer.state(*SITE)
    assert {p["title"] for p in site["products"].values()} == {"Kettle", "Teapot"}
    assert site["price_lists"]["fakeshop-price"]["name"] == "FakeShop Price"
    assert site["sync_logs"]["fakeshop/products"]["last_full_sync_succeeded"] is True

    done = merchant.get(str(onboarding.url))
    assert "Your FakeShop store is connected and its products are in SparkLayer" in done.text
    assert "✓ Sync your products (done)" in done.text and "○ Add SparkLayer to your storefront" in done.text
    assert f'href="{env.stack.sparklayer_url}/_sandbox/sites/live/bob-s-kettles"' in done.text
    assert 'href="https://docs.sparklayer.io"' in done.text
    assert 'http-equiv="refresh"' not in done.text
    assert MERCHANT["password"] not in done.text + onboarding.text + registration.text


def test_reloading_every_step_and_installing_twice_ends_with_one_connection(install_stack):
    env, merchant = install_stack, Merchant()
    merchant.get(f"{env.admin_url}/apps/sparklayer/install?store=s1")  # an install abandoned on the platform
    registration = install(env, merchant)
    callback = merchant.url_matching(r"/install/fakeshop/callback\?")
    reloaded_callback = merchant.get(callback)  # the code is spent, the state used: same installation
    assert reloaded_callback.status_code == 200 and "Create your SparkLayer account" in reloaded_callback.text
    assert merchant.get(str(registration.url)).status_code == 200  # reload the registration page

    onboarding = merchant.submit(registration, **MERCHANT)
    again = merchant.submit(registration, **MERCHANT)  # Back, then the form sent again
    assert again.url == onboarding.url and again.status_code == 200
    assert merchant.get(str(registration.url)).url == onboarding.url  # the registration page now onboards
    assert merchant.get(str(onboarding.url)).status_code == 200
    connected_and_synced(env)

    second = install(env, Merchant())  # the merchant installs the app again later
    assert "Welcome to SparkLayer" in second.text and re.search(r"/onboarding$", str(second.url))
    connected_and_synced(env)

    assert len(env.rows("select id from installation")) == 1
    assert [r["id"] for r in env.rows("select id from connection")] == [CONNECTION_ID]
    assert list(env.sparklayer.dashboard.registered) == ["bob@bobs.test"]
    assert len(env.sparklayer.dashboard.registered["bob@bobs.test"].connect_calls) == 1
    assert [r.job_def.name for r in env.lifecycle.launched] == ["complete_connection", "full_sync"]


def test_an_email_sparklayer_knows_is_refused_with_a_way_on_and_creates_nothing(install_stack):
    env = install_stack
    first = Merchant()
    first.submit(install(env, first), **MERCHANT)
    connected_and_synced(env)

    other = Merchant()
    registration = install(env, other, store="s2")
    refused = other.submit(registration, **{**MERCHANT, "company": "Mugs Ltd"})
    assert refused.status_code == 409
    assert "SparkLayer already has an account for bob@bobs.test" in refused.text
    assert 'value="Mugs Ltd"' in refused.text and MERCHANT["password"] not in refused.text
    assert env.rows("select connection_id from installation where store_id = 's2'") == [{"connection_id": None}]
    assert len(env.sparklayer.dashboard.registered) == 1

    onboarding = other.submit(refused, **{**MERCHANT, "email": "mugs@mugs.test", "company": "Mugs Ltd"})
    assert re.search(r"/onboarding$", str(onboarding.url))
    connected_and_synced(env)
    assert sorted(r["id"] for r in env.rows("select id from connection")) == [CONNECTION_ID, "live-mugs-ltd"]
    assert {p["title"] for p in env.sparklayer.state("live", "mugs-ltd")["products"].values()} == {"Mug"}


def test_registration_fields_are_checked_before_sparklayer_is_called(install_stack):
    env, merchant = install_stack, Merchant()
    registration = install(env, merchant)
    answer = merchant.submit(registration, **{**MERCHANT, "email": "bob-at-bobs", "password": "short"})
    assert answer.status_code == 400
    assert "Enter an email address such as name@company.com." in answer.text
    assert "Choose a password of at least 8 characters." in answer.text
    assert env.sparklayer.dashboard.registered == {}


@pytest.mark.parametrize(("path", "status", "says"), [
    ("/install/fakeshop?store=s1&timestamp=1&hmac=forged", 400, "The request is not signed by FakeShop."),
    ("/install/fakeshop/callback?store=s1&code=x&state=y&hmac=forged", 400, "The request is not signed by FakeShop."),
    ("/install/nowhere?store=s1", 404, "There is no SparkLayer app for this platform."),
    ("/install/marketplacer", 404, "There is no SparkLayer app for this platform."),
    ("/app/not-a-token/register", 404, "This page&#x27;s link is unknown or expired."),
])
def test_links_that_are_not_ours_get_a_page_saying_what_to_do(install_stack, path, status, says):
    answer = httpx.get(install_stack.stack.ingress_url + path)
    assert answer.status_code == status
    assert answer.headers["content-type"].startswith("text/html")
    assert says in answer.text


def test_a_callback_whose_state_we_did_not_issue_is_refused(install_stack):
    env = install_stack
    query = fakeshop.signed({"code": "c", "store": "s1", "state": "made-up", "timestamp": "1"}, APP["client_secret"])
    answer = httpx.get(f"{env.stack.ingress_url}/install/fakeshop/callback", params=query)
    assert answer.status_code == 400 and "This install link has expired" in answer.text
    assert env.rows("select * from installation") == []


def test_an_app_without_its_credentials_configured_is_not_offered(database_url, secret_key):
    register(fakeshop.SPEC)
    with contextlib.ExitStack() as cleanup:
        cleanup.callback(unregister, fakeshop.NAME)
        stack = cleanup.enter_context(running_stack(database_url, secret_key, SparkLayerSandbox()))
        answer = httpx.get(f"{stack.ingress_url}/install/fakeshop?store=s1")
    assert answer.status_code == 503 and "cannot be installed right now" in answer.text
