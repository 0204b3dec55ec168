"""The naive baseline: read the whole store and push every record to SparkLayer, one request per record,
every time. No diff, no state, no batching, no sync log.

It is deliberately built from the same parts as the real sync (the platform adapter, the payload
mapping and the SparkLayer client with the same concurrency and retry policy), so the comparison
measures the diff and the batching, not a weaker client. It is told whether SparkLayer is still
empty (create) or not (update), which a stateless tool would have to guess: that only flatters it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from ignite_etl.diff import DISCONTINUED
from ignite_etl.platforms import platform_for
from ignite_etl.platforms.outbound import SANDBOX
from ignite_etl.sparklayer import models as sl
from ignite_etl.sparklayer.client import SparkLayerClient
from ignite_etl.sync import payloads
from ignite_etl.sync.extract import CatalogueFrames, customers_frame

Mode = Literal["create", "update"]


@dataclass(frozen=True)
class NaiveTarget:
    """Where the baseline reads from and writes to."""

    sparklayer_base_url: str
    site_id: str
    client_id: str
    client_secret: str
    platform: str
    platform_config: Mapping[str, Any]
    platform_secrets: Mapping[str, str]
    page_size: int
    concurrency: int


def push_everything(target: NaiveTarget, mode: Mode) -> dict[str, int]:
    """Extract the catalogue and customers, then write each record on its own. Returns records sent
    and refused per kind."""
    with platform_for(target.platform, target.platform_config, target.platform_secrets,
                      page_size=target.page_size, outbound=SANDBOX) as platform:
        frames = CatalogueFrames()
        for page in platform.iter_catalogue():
            frames.add(page)
        customers = customers_frame(platform.iter_customers())
        currency = platform.store_settings().base_currency
        locations = platform.stock_locations()
    products = payloads.desired_products(frames.frame("products"), frames.frame("variants"))
    stock = [sl.StockLevel(**body) for _, body in payloads.stock_bodies(frames.frame("stock"))]
    slug = payloads.price_list_slug(target.platform)
    prices = [sl.SkuPricing(**body) for _, body in payloads.pricing_bodies(frames.frame("prices"), slug)
              if payloads.PRICE_LIST_KEY not in body]  # the platform's own list only
    customer_bodies, _problems = payloads.customer_bodies(customers)
    del frames, customers

    client = SparkLayerClient(
        base_url=target.sparklayer_base_url, site_id=target.site_id, client_id=target.client_id,
        client_secret=target.client_secret, concurrency=target.concurrency, batch_size=1,
    )

    async def push(c: SparkLayerClient) -> dict[str, int]:
        outcome: Counter = Counter()

        def tally(kind: str, results) -> None:
            outcome[kind] += len(results)
            outcome[f"{kind}_refused"] += sum(1 for r in results if not r.ok)

        await c.set_base_currency(currency)
        tally("price_list", [(await c.create_price_list(payloads.price_list_for(target.platform, currency)))[0]])
        tally("stock_locations", [await c.create_stock_location(sl.StockLocation(name=loc.name, external_id=loc.external_id))
                                  for loc in locations])
        sendable = [p for p in products if p.fields.get("title") is not None
                    and any(v.get("status") != DISCONTINUED for v in p.variants)]
        if mode == "create":
            tally("products", await c.create_products(
                [sl.Product(**p.fields, variants=[sl.Variant(**v) for v in p.variants if v.get("status") != DISCONTINUED])
                 for p in sendable]))
        else:
            tally("products", await c.update_products(
                [(p.external_id, sl.ProductChanges(title=p.fields["title"], slug=p.fields["slug"],
                                                   variants=[sl.Variant(**v) for v in p.variants])) for p in sendable]))
        tally("stock", await c.batch_update_stock(stock))
        tally("prices", await c.update_pricing(slug, prices))
        tally("customers", await c.upsert_customers([sl.Customer(**body) for _, body in customer_bodies]))
        return dict(outcome)

    return client.run(push)
