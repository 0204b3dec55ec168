"""The one table of what the sync writes to SparkLayer: per (entity, action), the order writes go in (a product
before variants are added to it), the sync-log data type its problems are reported under, the full-sync asset
that writes it, and the SparkLayer call that does."""

from __future__ import annotations

from dataclasses import dataclass

from ignite_etl.sparklayer import endpoints as ep


@dataclass(frozen=True)
class EntityWrite:
    entity: str  # as in sync_state
    action: str
    data_type: str  # SparkLayer sync-log data type
    load: str  # the full sync's asset that writes it
    endpoint: ep.Endpoint


WRITES = (  # in the order the writer sends them
    EntityWrite("product", "create", "products", "sparklayer_products", ep.CREATE_PRODUCT),
    EntityWrite("product", "update", "products", "sparklayer_products", ep.UPDATE_PRODUCT),
    EntityWrite("product", "add_variants", "products", "sparklayer_products", ep.UPDATE_PRODUCT),
    EntityWrite("variant", "update", "products", "sparklayer_products", ep.UPDATE_VARIANT),
    EntityWrite("variant", "discontinue", "products", "sparklayer_products", ep.UPDATE_VARIANT),
    EntityWrite("stock", "set", "stock", "sparklayer_stock", ep.BATCH_UPDATE_STOCK),
    EntityWrite("price", "set", "products", "sparklayer_prices", ep.UPDATE_PRICING),
    EntityWrite("customer", "upsert", "customers", "sparklayer_customers", ep.UPSERT_CUSTOMER),
    EntityWrite("customer", "delete", "customers", "sparklayer_customers", ep.DELETE_CUSTOMER),
)

# Entities with sync-log errors that the change writer does not write: an address goes with its customer, an
# order through the Purchasing API, a setting through the site setup.
_OTHER_DATA_TYPES = {"customer_address": "customers", "order": "purchases", "setting": "products"}
DATA_TYPES = {w.entity: w.data_type for w in WRITES} | _OTHER_DATA_TYPES


def data_type_of(entity: str) -> str:
    """The sync-log data type an entity's problems are reported under (products when unknown)."""
    return DATA_TYPES.get(entity, "products")


def load_data_type(load: str) -> str:
    """The sync-log data type a full sync's load asset reports under."""
    return next(w.data_type for w in WRITES if w.load == load)
