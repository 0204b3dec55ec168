"""Every GraphQL document and enum name the Marketplacer adapter sends: the one endpoint table."""

from __future__ import annotations

WEBHOOK_TYPES = ("ADVERT", "VARIANT", "INVOICE")  # WebhookKlassEnum [I: spelling]
SPARKLAYER_EXTERNAL_ID_KEY = "sparklayer"
DEFAULT_PAGE_SIZE = 200
VARIANTS_PER_ADVERT = 100

_VARIANT_FIELDS = """
  id legacyId sku barcode countOnHand lowestPrice
  inventories(first: 1) { nodes { countOnHand price { amount } } }
  optionValues(first: 20) { nodes { name displayName optionType { name } } }
  shippingParcel { weightInKg }
"""

_VARIANTS = f"variants(displayableOnly: false, first: {VARIANTS_PER_ADVERT}) {{ pageInfo {{ hasNextPage }} nodes {{ {_VARIANT_FIELDS} }} }}"

ADVERT_FRAGMENTS = f"""
fragment SellableAdvert on Advert {{
  id legacyId title online published updatedAt displayImage {{ url }}
  {_VARIANTS}
}}
fragment HiddenAdvert on UnpublishedAdvert {{
  id legacyId updatedAt details {{ title displayImage {{ url }} }}
  {_VARIANTS}
}}
fragment RemovedAdvert on DeletedAdvert {{
  id updatedAt
  {_VARIANTS}
}}
"""

CHECK_CREDENTIALS = "query CheckCredentials { allAdverts(first: 1) { totalCount } }"

ALL_ADVERTS = (
    """
query AllAdverts($updatedSince: ISO8601DateTime, $first: Int!, $after: String) {
  allAdverts(updatedSince: $updatedSince, first: $first, after: $after) {
    pageInfo { hasNextPage endCursor }
    nodes { __typename ...SellableAdvert ...HiddenAdvert ...RemovedAdvert }
  }
}
"""
    + ADVERT_FRAGMENTS
)

ADVERT_NODES = (
    """
query AdvertNodes($ids: [ID!]!) {
  nodes(ids: $ids) {
    __typename
    ...SellableAdvert ...HiddenAdvert ...RemovedAdvert
    ... on Variant { advert { __typename ...SellableAdvert ...HiddenAdvert ...RemovedAdvert } }
  }
}
"""
    + ADVERT_FRAGMENTS
)

_INVOICE_FIELDS = """
  id legacyId createdAt updatedAt
  buyerFirstName buyerSurname buyerPhone buyerEmailAddress
  shippingAddress { address city state { short } postcode country { code } }
  lineItems { id legacyId quantity variantId variantSku variantName status cancelledQuantity unitPrice { amount } }
  shipments { id createdAt trackingLink trackingNumber carrier shippedItems { quantity lineItem { id } } }
  refundRequests { id status createdAt lineItems { quantity amount { amount } lineItem { id } } }
"""

INVOICE_ORDERS = """
query InvoiceOrders($updatedSince: ISO8601DateTime, $first: Int!, $after: String) {
  invoices(first: $first, after: $after, filters: { updatedSince: $updatedSince }) {
    pageInfo { hasNextPage endCursor }
    nodes { id order { id externalIds { key value } } }
  }
}
"""

ORDER_NODES = f"""
query OrderNodes($ids: [ID!]!) {{
  nodes(ids: $ids) {{
    __typename
    ... on Order {{ ...FullOrder }}
    ... on Invoice {{ order {{ ...FullOrder }} }}
  }}
}}
fragment FullOrder on Order {{
  id legacyId createdAt updatedAt externalIds {{ key value }}
  invoices(first: 100) {{ nodes {{ {_INVOICE_FIELDS} }} }}
}}
"""

WEBHOOK_QUERY = "query($id: ID!) { node(id: $id) { __typename id } }"

WEBHOOK_CREATE = """
mutation WebhookCreate($input: WebhookCreateMutationInput!) {
  webhookCreate(input: $input) {
    status
    webhook { id }
    errors { field messages }
  }
}
"""
