"""The merchant's pages in a real browser: Debian's headless Chromium, driven by Playwright (its driver only;
no browser download), walking the app install, the registration and the connect page as a merchant does,
and checking what they see. The browser cannot leave loopback: every other host resolves to nothing and
any request that got past that would go to a dead proxy."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from ignite_etl_tests.platforms import fakeshop

from .conftest import INGRESS_TOKEN
from .test_end_to_end import settle

CHROMIUM = Path("/usr/bin/chromium")
LOOPBACK_ONLY = [
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--proxy-server=http://127.0.0.1:9",  # loopback bypasses it; nothing else gets through
    "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-quic",
    "--no-first-run", "--no-sandbox", "--disable-gpu",
]
MERCHANT = {"Your name": "Bob Baker", "Email": "bob@bobs.test", "Company": "Bob's Kettles"}
PASSWORD = "correct horse 1"


@pytest.fixture(scope="module")
def browser():
    assert CHROMIUM.exists(), (
        "Debian's chromium is needed for the merchant-page tests: `make test` installs it as root "
        "(apt-get install chromium), or install it yourself")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LOOPBACK_ONLY)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser, tmp_path):
    context = browser.new_context(locale="en-NZ")
    off_loopback: list[str] = []
    context.on("request", lambda r: off_loopback.append(r.url) if not re.match(r"https?://127\.0\.0\.1[:/]", r.url)
               else None)
    yield context.new_page()
    context.close()
    assert off_loopback == [], f"the pages asked for hosts off loopback: {off_loopback}"


def test_a_merchant_installs_the_app_registers_and_follows_onboarding(install_stack, page: Page, tmp_path):
    env = install_stack
    page.goto(f"{env.admin_url}/apps/sparklayer/install?store=s1")
    expect(page.get_by_role("heading")).to_have_text("Install SparkLayer on s1?")
    page.get_by_role("button", name="Install app").click()

    expect(page).to_have_title("Create your SparkLayer account")
    expect(page.locator("p").first).to_contain_text("SparkLayer is installed on your FakeShop store s1.")
    for label, value in MERCHANT.items():
        page.get_by_label(label).fill(value)
    page.get_by_label("Password").fill("short")
    page.get_by_role("button", name="Create account").click()
    # The browser itself holds a too-short password back: nothing reached SparkLayer.
    expect(page).to_have_title("Create your SparkLayer account")
    assert page.get_by_label("Password").evaluate("input => input.validity.tooShort") is True
    assert env.sparklayer.dashboard.registered == {}

    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page).to_have_title("Welcome to SparkLayer")
    expect(page.get_by_role("status")).to_contain_text("this page updates itself")

    env.sparklayer.dashboard.wait_for_connect_calls()
    with ThreadPoolExecutor(1) as daemon:  # off the thread whose event loop Playwright's sync API runs
        daemon.submit(settle, env.lifecycle).result()
    page.reload()
    expect(page.get_by_role("status")).to_have_text(
        "Your FakeShop store is connected and its products are in SparkLayer. Finish setting up your B2B store "
        "with the steps below.")
    steps = page.locator("ol.steps li")
    expect(steps).to_have_count(5)
    expect(steps.nth(2)).to_have_text("✓ Sync your products (done)")
    expect(steps.nth(4)).to_have_text("○ Add SparkLayer to your storefront")
    expect(page.get_by_role("link", name="Open your SparkLayer dashboard")).to_have_attribute(
        "href", f"{env.stack.sparklayer_url}/_sandbox/sites/live/bob-s-kettles")
    expect(page.get_by_role("link", name="Read the SparkLayer documentation")).to_have_attribute(
        "href", "https://docs.sparklayer.io")
    page.screenshot(path=str(tmp_path / "onboarding.png"), full_page=True)

    page.go_back()  # Back to the registration page: it sends the merchant on to onboarding again
    expect(page).to_have_title("Welcome to SparkLayer")
    assert PASSWORD not in page.content()


def test_a_merchant_completes_a_dashboard_connection_on_the_connect_page(install_stack, page: Page):
    env = install_stack
    answer = env.stack.ingress.post("/v1/test/bobs-store", json={
        "store_id": "s1", "spark_api_client_id": "id", "spark_api_client_secret": "secret",
        "extra_config": {"platform": "fakeshop"}}, headers={"Authorization": f"Bearer {INGRESS_TOKEN}"})
    assert answer.json()["status"] == "pending"

    page.goto(answer.json()["redirect_url"])  # where SparkLayer's dashboard sends the merchant
    expect(page).to_have_title("Connect your store")
    expect(page.locator("p").first).to_contain_text("Connect your FakeShop store to SparkLayer site test-bobs-store.")
    page.get_by_label("Store name").fill("s1")
    page.get_by_label("API key").fill("wrong-key")
    page.get_by_label("Currency").fill("NZD")
    page.get_by_role("button", name="Connect").click()
    expect(page.locator(".error")).to_have_text("FakeShop refused the API key.")
    expect(page.get_by_label("Store name")).to_have_value("s1")  # what was typed stays, the key does not
    expect(page.get_by_label("API key")).to_have_value("")

    page.get_by_label("API key").fill(fakeshop.GOOD_KEY)
    page.get_by_role("button", name="Connect").click()
    expect(page).to_have_title("Store connected")
    expect(page.locator("p")).to_contain_text("The first full sync starts in a moment")
