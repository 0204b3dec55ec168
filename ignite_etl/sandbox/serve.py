"""`ignite-etl sandbox`: both simulators on loopback, with a demo SparkLayer site and a generated store."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import httpx

from ignite_etl.sandbox import MARKETPLACER_PORT, SPARKLAYER_PORT
from ignite_etl.sandbox.marketplacer.sandbox import DEFAULT_API_KEY, MarketplacerSandbox
from ignite_etl.sandbox.server import BackgroundServer
from ignite_etl.sandbox.sparklayer.sandbox import SparkLayerSandbox

DEMO_SITE_ENV, DEMO_SITE_ID = "test", "demo-store"
DEMO_CLIENT_ID, DEMO_CLIENT_SECRET = "demo-client", "demo-secret"


@dataclass
class Sandbox:
    sparklayer: SparkLayerSandbox
    marketplacer: MarketplacerSandbox
    sparklayer_server: BackgroundServer
    marketplacer_server: BackgroundServer

    @property
    def sparklayer_api_url(self) -> str:
        """What SPARKLAYER_API_URL should be to talk to this sandbox."""
        return self.sparklayer_server.url + "/{site_env}"

    @property
    def marketplacer_api_url(self) -> str:
        return self.marketplacer_server.url + "/graphql"

    def stop(self) -> None:
        self.marketplacer_server.stop()
        self.sparklayer_server.stop()
        self.marketplacer.close()


def start_sandbox(
    *, adverts: int = 200, seed: int = 1, broken_rate: float = 0.01, sparklayer_port: int = SPARKLAYER_PORT,
    marketplacer_port: int = MARKETPLACER_PORT, latency_ms: float = 0.0,
) -> Sandbox:
    sparklayer = SparkLayerSandbox()
    sparklayer.add_site(DEMO_SITE_ENV, DEMO_SITE_ID, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET)
    if latency_ms:
        sparklayer.set_faults(latency_seconds=latency_ms / 1000)
    marketplacer = MarketplacerSandbox()
    marketplacer.generate(adverts, seed=seed, broken_rate=broken_rate)
    sl_server = BackgroundServer(sparklayer.app, port=sparklayer_port).start()
    mp_server = BackgroundServer(marketplacer.app, port=marketplacer_port).start()
    return Sandbox(sparklayer, marketplacer, sl_server, mp_server)


def describe(sandbox: Sandbox, adverts: int) -> str:
    return "\n".join(
        [
            f"SparkLayer sandbox   {sandbox.sparklayer_server.url}  (state and journal under /_sandbox/)",
            f"  demo site: env={DEMO_SITE_ENV} site_id={DEMO_SITE_ID} client_id={DEMO_CLIENT_ID} "
            f"client_secret={DEMO_CLIENT_SECRET}",
            f"  point ignite-etl at it with SPARKLAYER_API_URL={sandbox.sparklayer_api_url}",
            f"Marketplacer sandbox {sandbox.marketplacer_api_url}  ({adverts} generated adverts; changes under /_sandbox/)",
            f"  extra_config: marketplacer_api_url={sandbox.marketplacer_api_url} "
            f"marketplacer_api_key={DEFAULT_API_KEY} currency=AUD",
        ]
    )


def demo_connect_body(sandbox: Sandbox) -> dict:
    """SparkLayer's new-platform-connection call for the demo site, with the store's credentials in
    extra_config (the platform-initiated flow), so the connection completes without the connect page."""
    return {
        "store_id": "demo",
        "spark_api_client_id": DEMO_CLIENT_ID,
        "spark_api_client_secret": DEMO_CLIENT_SECRET,
        "extra_config": {
            "platform": "marketplacer",
            "marketplacer_api_url": sandbox.marketplacer_api_url,
            "marketplacer_api_key": DEFAULT_API_KEY,
            "currency": "AUD",
        },
    }


def connect_demo_store(sandbox: Sandbox, ingress_url: str, token: str, *, wait_seconds: float = 120.0) -> str:
    """Call the ingress as SparkLayer would once it answers; the answer's connection status."""
    deadline = time.monotonic() + wait_seconds
    with httpx.Client(base_url=ingress_url, timeout=10) as client:
        while True:
            try:
                if client.get("/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"the ingress at {ingress_url} did not answer in {wait_seconds:.0f}s")
            time.sleep(0.5)
        answer = client.post(f"/v1/{DEMO_SITE_ENV}/{DEMO_SITE_ID}", json=demo_connect_body(sandbox),
                             headers={"Authorization": f"Bearer {token}"})
        answer.raise_for_status()
        return answer.json().get("status", "?")


def serve_forever(sandbox: Sandbox) -> None:
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        sandbox.stop()
