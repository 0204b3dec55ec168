"""Every GraphQL document and enum name the Marketplacer adapter sends: the one endpoint table.

Each document is valid against Marketplacer's published Operator API schema (a test validates them all,
with every standard rule, against the simulator's schema, which is a checked subset of the published
one). An operation carries exactly the fragments it uses: a server refuses unused ones.
"""

from __future__ import annotations

import re

WEBHOOK_TYPES = ("ADVERT", "VARIANT", "INVOICE", "SHIPMENT", "REFUND_REQUEST")  # WebhookKlassEnum
SPARKLAYER_EXTERNAL_ID_KEY = "sparklayer"
DEFAULT_PAGE_SIZE = 200
VARIANTS_PER_PAGE = 100
OPTION_VALUES_PER_PAGE = 25
INVOICES_PER_PAGE = 50
WEBHOOKS_PER_PAGE = 100

FRAGMENTS = {
    "OptionValuePage": """
fragment OptionValuePage on VariantOptionValueConnection {
  pageInfo { hasNextPage endCursor }
  nodes { textValue optionType { displayName } optionValue { displayName } }
}""",
    "VariantFields": f"""
fragment VariantFields on Variant {{
  id legacyId sku barcode countOnHand lowestPrice recommendedRetailPrice
  inventories(first: 1) {{ nodes {{ price {{ amount }} }} }}
  variantOptionValues(first: {OPTION_VALUES_PER_PAGE}) {{ ...OptionValuePage }}
  shippingParcel {{ weightInKg }}
  metadata {{ key value }}
}}""",
    "VariantPage": """
fragment VariantPage on VariantConnection {
  pageInfo { hasNextPage endCursor }
  nodes { ...VariantFields }
}""",
    "AdvertFields": f"""
fragment AdvertFields on Advert {{
  id legacyId title online updatedAt recommendedRetailPrice
  displayImage {{ url }}
  metadata {{ key value }}
  variants(displayableOnly: false, first: {VARIANTS_PER_PAGE}) {{ ...VariantPage }}
}}""",
    "AnyAdvert": """
fragment AnyAdvert on AllAdvert {
  __typename
  ... on Advert { ...AdvertFields }
  ... on UnpublishedAdvert { id legacyId updatedAt details { ...AdvertFields } }
  ... on DeletedAdvert { id legacyId updatedAt }
}""",
    "AddressFields": """
fragment AddressFields on Address {
  address subaddress city postcode state { short } country { code }
}""",
    "InvoiceFields": """
fragment InvoiceFields on Invoice {
  id legacyId createdAt updatedAt
  lineItems {
    id legacyId quantity variantId variantSku variantName status statusFull
    itemAmountCents subtotalCents totalCents quantityAwaitingDispatch
  }
  shipments { id createdAt dispatchedAt trackingLink trackingNumber carrier shippedItems { quantity lineItem { id } } }
  refundRequests { id status createdAt refundedAt lineItems { quantity amountCents dispatched status lineItem { id } } }
}""",
    "InvoicePage": """
fragment InvoicePage on InvoiceConnection {
  pageInfo { hasNextPage endCursor }
  nodes { ...InvoiceFields }
}""",
    "OrderFields": f"""
fragment OrderFields on Order {{
  id legacyId createdAt updatedAt status externalIds {{ key value }}
  emailAddress firstName surname phone companyName address {{ ...AddressFields }}
  billingFirstName billingSurname billingEmailAddress billingPhone billingCompanyName
  billingAddress {{ ...AddressFields }}
  subtotalCents totalCents
  invoices(first: {INVOICES_PER_PAGE}) {{ ...InvoicePage }}
}}""",
}


def _document(operation: str) -> str:
    """`operation` followed by the fragments it uses, directly or through other fragments, each once."""
    used: list[str] = []
    pending = [operation]
    while pending:
        for name in re.findall(r"\.\.\.\s*([A-Za-z_]\w*)", pending.pop()):
            if name in FRAGMENTS and name not in used:
                used.append(name)
                pending.append(FRAGMENTS[name])
    return operation.strip() + "\n" + "".join(FRAGMENTS[name] for name in used) + "\n"


CHECK_CREDENTIALS = "query CheckCredentials { allAdverts(first: 1) { totalCount } }"

ALL_ADVERTS = _document("""
query AllAdverts($updatedSince: ISO8601DateTime, $first: Int!, $after: String) {
  allAdverts(updatedSince: $updatedSince, first: $first, after: $after) {
    pageInfo { hasNextPage endCursor }
    nodes { ...AnyAdvert }
  }
}""")

ADVERT_NODES = _document("""
query AdvertNodes($ids: [ID!]!) {
  nodes(ids: $ids) {
    __typename
    ...AnyAdvert
    ... on Variant { id advert { ...AnyAdvert } }
  }
}""")

ADVERT_VARIANTS = _document("""
query AdvertVariants($id: ID!, $first: Int!, $after: String) {
  node(id: $id) {
    __typename
    ... on Advert { variants(displayableOnly: false, first: $first, after: $after) { ...VariantPage } }
    ... on UnpublishedAdvert { details { variants(displayableOnly: false, first: $first, after: $after) { ...VariantPage } } }
  }
}""")

VARIANT_OPTION_VALUES = _document("""
query VariantOptionValues($id: ID!, $first: Int!, $after: String) {
  node(id: $id) {
    __typename
    ... on Variant { variantOptionValues(first: $first, after: $after) { ...OptionValuePage } }
  }
}""")

INVOICE_ORDERS = """
query InvoiceOrders($updatedSince: ISO8601DateTime, $first: Int!, $after: String) {
  invoices(first: $first, after: $after, filters: { updatedSince: $updatedSince }) {
    pageInfo { hasNextPage endCursor }
    nodes { id order { id externalIds { key value } } }
  }
}
"""

ORDER_NODES = _document("""
query OrderNodes($ids: [ID!]!) {
  nodes(ids: $ids) {
    __typename
    ... on Order { ...OrderFields }
    ... on Invoice { order { ...OrderFields } }
  }
}""")

ORDER_INVOICES = _document("""
query OrderInvoices($id: ID!, $first: Int!, $after: String) {
  node(id: $id) {
    __typename
    ... on Order { invoices(first: $first, after: $after) { ...InvoicePage } }
  }
}""")

# What each registered webhook sends as its payload: the object's type and id, and for shipments and
# refund requests the invoice they change (the partial sync re-fetches the whole order).
WEBHOOK_QUERY = """
query WebhookPayload($id: ID!) {
  node(id: $id) {
    __typename id
    ... on Shipment { invoice { id } }
    ... on RefundRequest { invoice { id } }
  }
}
"""

WEBHOOKS = """
query Webhooks($first: Int!, $after: String) {
  webhooks(first: $first, after: $after) {
    pageInfo { hasNextPage endCursor }
    nodes { id url type enabled }
  }
}
"""

WEBHOOK_CREATE = """
mutation WebhookCreate($input: WebhookCreateMutationInput!) {
  webhookCreate(input: $input) {
    status
    webhook { id }
    errors { field messages }
  }
}
"""

WEBHOOK_UPDATE = """
mutation WebhookUpdate($input: WebhookUpdateMutationInput!) {
  webhookUpdate(input: $input) {
    status
    webhook { id enabled }
    errors { field messages }
  }
}
"""
