"""What a benchmark runs against: fresh databases on the configured Postgres server, a Dagster
instance of its own, both simulators on loopback with a generated store, and one connected
SparkLayer site for the real sync and one for the naive baseline.

Syncs run in child processes (`ignite_etl.bench.worker`) so each reports its own peak memory and
the simulators, which live in this process, do not count against it.
"""

from __future__ import annotations

import json
import logging
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ignite_etl.bench.accounting import OperationCounter, SparkLayerUsage, difference, sparklayer_usage
from ignite_etl.bench.worker import RESULT_PREFIX
from ignite_etl.devstack import INSTANCE_YAML, dagster_storage_url
from ignite_etl.sandbox.marketplacer.sandbox import DEFAULT_API_KEY, MarketplacerSandbox
from ignite_etl.sandbox.server import BackgroundServer
from ignite_etl.sandbox.shopify.sandbox import ShopifySandbox
from ignite_etl.sandbox.sparklayer.sandbox import SparkLayerSandbox
from ignite_etl.store import migrations
from ignite_etl.store.cipher import CredentialCipher
from ignite_etl.store.connections import connection_id_for, save_connection
from ignite_etl.store.database import connect, ensure_database, with_database

log = logging.getLogger(__name__)

SITE_ENV = "test"
STOCK_LOCATION = "marketplacer"
CURRENCY = "AUD"
# Defaults of SyncServices, which the real sync runs with; the baseline uses the same.
SPARKLAYER_CONCURRENCY = 8
PLATFORM_PAGE_SIZE = 100
PLATFORMS = ("marketplacer", "shopify")
SHOPIFY_THROTTLE = {"maximum_available": 2000, "restore_rate": 1000}
"""The simulated shop's cost bucket: Shopify Plus's published restore rate (1,000 points/s) and the bucket size
community posts give for Plus (2,000). A Standard shop (100 points/s) pages ten times slower; bulk operations
cost a few points whatever the plan."""


@dataclass(frozen=True)
class Site:
    site_id: str
    client_id: str
    client_secret: str = field(repr=False)

    @property
    def connection_id(self) -> str:
        return connection_id_for(SITE_ENV, self.site_id)


OURS = Site("bench-store", "bench-client", "bench-secret")
NAIVE = Site("naive-store", "naive-client", "naive-secret")


@dataclass
class Catalogue:
    adverts: int
    variants: int
    customers: int
    clean_adverts: list[int]  # online adverts whose variants all have a SKU and a readable price

    def as_dict(self) -> dict:
        return {"adverts": self.adverts, "variants": self.variants, "customers": self.customers}


class WorkerFailed(RuntimeError):
    pass


class BenchStack:
    """`with BenchStack(server_url, adverts=1000) as stack: stack.run_worker("sync", {...})`"""

    def __init__(self, server_url: str, *, adverts: int, seed: int = 1, latency_ms: float = 20.0,
                 customers_per_advert: float = 0.1, keep: bool = False, tenants: int = 1,
                 env: dict[str, str] | None = None, separate_stores: bool = False, platform: str = "marketplacer"):
        if platform not in PLATFORMS:
            raise ValueError(f"the bench knows the stores of {', '.join(PLATFORMS)}, not {platform!r}")
        if platform != "marketplacer" and (tenants > 1 or separate_stores):
            raise ValueError("bench tenants runs on Marketplacer stores only")
        self.platform = platform
        """Whose simulator the store is on: its extraction (paged or bulk) is what differs; the rest is shared."""
        self.server_url = server_url
        self.adverts = adverts
        self.seed = seed
        self.latency_ms = latency_ms
        self.customers_per_advert = customers_per_advert
        self.keep = keep
        self.separate_stores = separate_stores
        """Each tenant's store URL differs (by a query the simulator ignores), so each is a store of its own to
        our rate limits, as when every tenant has its own Marketplacer instance."""
        self.env = dict(env or {})
        """Added to every worker's environment (e.g. IGNITE_CELERY_BROKER_URL for the distributed path)."""
        self.tenants = [OURS] + [Site(f"bench-store-{n}", f"bench-client-{n}", f"bench-secret-{n}")
                                 for n in range(2, tenants + 1)]
        """The connected sites, each a SparkLayer site of its own on the one generated store."""
        self.secret_key = CredentialCipher.generate_key()
        suffix = uuid.uuid4().hex[:8]
        self.app_db_name, self.dagster_db_name = f"ignite_bench_{suffix}", f"dagster_bench_{suffix}"
        self.workdir = Path(tempfile.mkdtemp(prefix="ignite-bench-"))
        self.app_url = with_database(server_url, self.app_db_name)
        self.dagster_url = with_database(server_url, self.dagster_db_name)
        self._servers: list[BackgroundServer] = []

    # --- lifecycle ------------------------------------------------------------------------------

    def __enter__(self) -> BenchStack:
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _start(self) -> None:
        ensure_database(self.server_url, self.app_db_name)
        ensure_database(self.server_url, self.dagster_db_name)
        migrations.upgrade(self.app_url)
        self.dagster_home = self.workdir / "dagster"
        self.dagster_home.mkdir()
        shutil.copyfile(INSTANCE_YAML, self.dagster_home / "dagster.yaml")

        self.sparklayer = SparkLayerSandbox()
        for site in (*self.tenants, NAIVE):
            self.sparklayer.add_site(SITE_ENV, site.site_id, site.client_id, site.client_secret)
        if self.latency_ms:
            self.sparklayer.set_faults(latency_seconds=self.latency_ms / 1000)
        started = time.monotonic()
        if self.platform == "shopify":
            self.shopify = ShopifySandbox(auto_deliver=False)
            self.shopify.set_throttle(**SHOPIFY_THROTTLE)
            self.catalogue = self._generate_shop()
            self.graphql = OperationCounter(self.shopify.asgi)
        else:
            self.marketplacer = MarketplacerSandbox(auto_deliver=False)
            self.catalogue = self._generate()
            self.graphql = OperationCounter(self.marketplacer.app)
        log.info("generated %d products, %d variants and %d customers in %.1fs", self.catalogue.adverts,
                 self.catalogue.variants, self.catalogue.customers, time.monotonic() - started)
        self.sparklayer_server = self._serve(self.sparklayer.app)
        self.marketplacer_server = self._serve(self.graphql)
        cipher = CredentialCipher(self.secret_key)
        with connect(self.app_url) as conn:
            for number, site in enumerate(self.tenants, start=1):
                config = self.platform_config
                if self.separate_stores:
                    config = {**config, "marketplacer_api_url": f"{config['marketplacer_api_url']}?store={number}"}
                save_connection(
                    conn, cipher, site_env=SITE_ENV, site_id=site.site_id, platform=self.platform, status="connected",
                    sparklayer_credentials={"client_id": site.client_id, "client_secret": site.client_secret},
                    platform_config=config, platform_secrets=self.platform_secrets,
                )

    def _serve(self, app) -> BackgroundServer:
        server = BackgroundServer(app).start()
        self._servers.append(server)
        return server

    def close(self) -> None:
        for server in reversed(self._servers):
            server.stop()
        self._servers.clear()
        for sandbox in (getattr(self, "marketplacer", None), getattr(self, "shopify", None)):
            if sandbox is not None:
                sandbox.close()
        if not self.keep:
            with connect(self.server_url, autocommit=True) as conn:
                for name in (self.app_db_name, self.dagster_db_name):
                    conn.execute(f'drop database if exists "{name}" with (force)')
            shutil.rmtree(self.workdir, ignore_errors=True)

    # --- the store --------------------------------------------------------------------------------

    def _generate(self) -> Catalogue:
        report = self.marketplacer.generate(self.adverts, seed=self.seed)
        catalogue = self.marketplacer.catalogue
        broken_variants = set(report.broken["variant_without_sku"]) | set(report.broken["unparsable_price"])
        broken_adverts = {catalogue.variants[v].advert_id for v in broken_variants}
        clean = [a.legacy_id for a in catalogue.adverts.values() if a.state == "online" and a.legacy_id not in broken_adverts]
        rng = random.Random(self.seed)
        buyers = int(self.adverts * self.customers_per_advert)
        for number, advert_id in enumerate(rng.sample(clean, min(buyers, len(clean)))):
            variant = next((v for v in catalogue.live_variants(catalogue.adverts[advert_id]) if v.count_on_hand > 0), None)
            if variant is None:
                continue
            self.marketplacer.place_order(
                [{"variant_id": variant.legacy_id, "quantity": 1}],
                buyer={"emailAddress": f"buyer{number}@example.com", "firstName": "Buyer", "surname": f"No{number}",
                       "phone": "0400000000"},
                address={"address": f"{number} Bench Street", "city": "Sydney", "postcode": "2000", "countryCode": "AU"},
                sparklayer_cart_id=f"cart-{number}",
            )
        return Catalogue(report.adverts, report.variants, len(catalogue.orders), clean)

    def _generate_shop(self) -> Catalogue:
        report = self.shopify.generate(self.adverts, seed=self.seed)
        shop = self.shopify.shop
        clean = [p.id for p in shop.products.values()
                 if p.status == "ACTIVE" and all(shop.variants[v].sku for v in p.variant_ids)]
        self._shop_token = self.shopify.issue_token(expiring=False)["access_token"]
        return Catalogue(report["products"], report["variants"], 0, clean)

    @property
    def platform_config(self) -> dict[str, str]:
        if self.platform == "shopify":
            return {"shop": self.shopify.shop.domain, "admin_url": self.marketplacer_server.url}
        return {"marketplacer_api_url": self.marketplacer_server.url + "/graphql", "currency": CURRENCY}

    @property
    def platform_secrets(self) -> dict[str, str]:
        if self.platform == "shopify":
            return {"access_token": self._shop_token}
        return {"marketplacer_api_key": DEFAULT_API_KEY}

    @property
    def store(self):
        """The simulator the store is on."""
        return self.shopify if self.platform == "shopify" else self.marketplacer

    @property
    def sparklayer_base_url(self) -> str:
        return f"{self.sparklayer_server.url}/{SITE_ENV}"

    # --- measuring ----------------------------------------------------------------------------------

    def journal_mark(self) -> int:
        entries = self.sparklayer.journal()
        return entries[-1].seq if entries else 0

    def sparklayer_usage(self, site: Site, since: int) -> SparkLayerUsage:
        return sparklayer_usage(e for e in self.sparklayer.journal(env=SITE_ENV, site_id=site.site_id) if e.seq > since)

    def graphql_mark(self):
        return self.graphql.snapshot()

    def graphql_since(self, mark) -> dict[str, int]:
        return difference(self.graphql.snapshot(), mark)

    def worker_env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            IGNITE_DATABASE_URL=self.app_url,
            IGNITE_DAGSTER_DATABASE_URL=dagster_storage_url(self.dagster_url),
            IGNITE_SECRET_KEY=self.secret_key,
            IGNITE_HOME=str(self.workdir / "home"),
            DAGSTER_HOME=str(self.dagster_home),
            SPARKLAYER_API_URL=self.sparklayer_server.url + "/{site_env}",
        )
        env.update(self.env)
        return env

    def run_worker(self, kind: str, params: dict[str, Any], *, label: str) -> dict[str, Any]:
        """Run `python -m ignite_etl.bench.worker KIND` with `params` on stdin (they may hold the sandbox
        sites' credentials) and return what it reports."""
        log_path = self.workdir / f"{label}.log"
        with open(log_path, "wb") as stderr:
            proc = subprocess.run(
                [sys.executable, "-m", "ignite_etl.bench.worker", kind], input=json.dumps(params).encode(),
                env=self.worker_env(), stdout=subprocess.PIPE, stderr=stderr, cwd=self.workdir,
            )
        lines = [line for line in proc.stdout.decode().splitlines() if line.startswith(RESULT_PREFIX)]
        if proc.returncode != 0 or not lines:
            tail = log_path.read_text(errors="replace")[-3000:]
            raise WorkerFailed(f"bench worker {label} exited with {proc.returncode}:\n{tail}")
        return json.loads(lines[-1][len(RESULT_PREFIX):])

    def naive_params(self, mode: str) -> dict[str, Any]:
        return {
            "sparklayer_base_url": self.sparklayer_base_url, "site_id": NAIVE.site_id, "client_id": NAIVE.client_id,
            "client_secret": NAIVE.client_secret, "platform": self.platform, "platform_config": self.platform_config,
            "platform_secrets": self.platform_secrets, "page_size": PLATFORM_PAGE_SIZE,
            "concurrency": SPARKLAYER_CONCURRENCY, "mode": mode,
        }
