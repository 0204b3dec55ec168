"""Which parts of Shopify's published Admin API (2025-01) the simulator serves: the types and fields it can
resolve. `schema.graphql` is generated from this and the published type system by
`python -m ignite_etl.sandbox.schema_subset`; a test regenerates it and compares."""

HEADER = """\
# Shopify Admin GraphQL API 2025-01: the part the simulator serves, copied verbatim from the published type
# system (shared/reference/shopify-admin-2025-01.graphql.gz) by ignite_etl.sandbox.schema_subset with
# ignite_etl/sandbox/shopify/schema_selection.py. Do not edit by hand: change the selection and regenerate.
# Every type, field, argument and enum value here is published, with the same types."""

_CONNECTION = ["edges", "nodes", "pageInfo"]

SELECTION = {
    "QueryRoot": ["node", "nodes", "products", "productsCount", "productVariants", "shop", "locations", "webhookSubscriptions",
                  "currentBulkOperation"],
    "Mutation": ["webhookSubscriptionCreate", "webhookSubscriptionDelete", "bulkOperationRunQuery",
                 "bulkOperationCancel"],
    "Node": ["id"],
    "PageInfo": "*",
    "DateTime": "*",
    "UnsignedInt64": "*",
    "URL": "*",
    "Money": "*",
    "CurrencyCode": "*",
    "UserError": ["field", "message"],
    "Count": "*",
    "CountPrecision": "*",
    # ---- catalogue ----
    "Product": ["id", "legacyResourceId", "handle", "title", "status", "createdAt", "updatedAt", "options",
                "featuredMedia", "variants", "tags", "vendor"],
    "ProductStatus": "*",
    "ProductSortKeys": "*",
    "ProductConnection": _CONNECTION,
    "ProductEdge": "*",
    "ProductOption": ["id", "name", "position", "values"],
    "ProductVariant": ["id", "legacyResourceId", "sku", "barcode", "title", "position", "price", "compareAtPrice",
                       "selectedOptions", "image", "inventoryItem", "metafields", "product", "updatedAt"],
    "ProductVariantSortKeys": "*",
    "ProductVariantConnection": _CONNECTION,
    "ProductVariantEdge": "*",
    "SelectedOption": ["name", "value"],
    "Media": ["id", "alt"],
    "MediaImage": ["id", "alt", "image"],
    "Image": ["id", "altText", "url"],
    "Metafield": ["id", "namespace", "key", "type", "value"],
    "MetafieldConnection": _CONNECTION,
    "MetafieldEdge": "*",
    # ---- stock ----
    "InventoryItem": ["id", "legacyResourceId", "sku", "tracked", "measurement", "inventoryLevels", "variant"],
    "InventoryItemMeasurement": ["id", "weight"],
    "Weight": "*",
    "WeightUnit": "*",
    "InventoryLevel": ["id", "location", "quantities"],
    "InventoryLevelConnection": _CONNECTION,
    "InventoryLevelEdge": "*",
    "InventoryQuantity": ["id", "name", "quantity"],
    "Location": ["id", "legacyResourceId", "name", "isActive"],
    "LocationSortKeys": "*",
    "LocationConnection": _CONNECTION,
    "LocationEdge": "*",
    # ---- the shop ----
    "Shop": ["id", "name", "myshopifyDomain", "currencyCode", "enabledPresentmentCurrencies", "weightUnit"],
    # ---- webhooks ----
    "WebhookSubscription": ["id", "legacyResourceId", "topic", "endpoint", "format", "includeFields",
                            "metafieldNamespaces", "createdAt", "updatedAt"],
    "WebhookSubscriptionEndpoint": "*",
    "WebhookHttpEndpoint": "*",
    "WebhookSubscriptionTopic": "*",
    "WebhookSubscriptionFormat": "*",
    "WebhookSubscriptionSortKeys": "*",
    "WebhookSubscriptionConnection": _CONNECTION,
    "WebhookSubscriptionEdge": "*",
    "WebhookSubscriptionInput": "*",
    "WebhookSubscriptionCreatePayload": "*",
    "WebhookSubscriptionDeletePayload": "*",
    # ---- bulk operations ----
    "BulkOperation": "*",
    "BulkOperationStatus": "*",
    "BulkOperationErrorCode": "*",
    "BulkOperationType": "*",
    "BulkOperationRunQueryPayload": "*",
    "BulkOperationCancelPayload": "*",
    "BulkOperationUserError": ["code", "field", "message"],
    "BulkOperationUserErrorCode": "*",
}
