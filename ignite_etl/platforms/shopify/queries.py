"""Every GraphQL document the Shopify adapter sends to the Admin API (version `API_VERSION`): the one
endpoint table's GraphQL half (CONTRACTS.md has the rest).

Each document is valid against Shopify's published 2025-01 type system (a test validates them all against
the simulator's schema, itself a checked subset of the published one). Page sizes keep every query's
requested cost under Shopify's 1,000-point cap for a single query: a connection costs 2 plus `first` times
what one of its nodes costs, and every object costs 1 (`COST` below is that sum for each document).
"""

from __future__ import annotations

API_VERSION = "2025-01"
NAMESPACE = "sparklayer"
PRODUCTS_PER_PAGE = 2
VARIANTS_PER_PAGE = 10
LEVELS_PER_PAGE = 5
METAFIELDS_PER_PAGE = 15
NODES_PER_REQUEST = 2
LOCATIONS_PER_PAGE = 100
WEBHOOKS_PER_PAGE = 100

WEBHOOK_TOPICS = (  # WebhookSubscriptionTopic values: what each changes is in webhooks.TOPICS
    "PRODUCTS_CREATE", "PRODUCTS_UPDATE", "PRODUCTS_DELETE", "INVENTORY_LEVELS_UPDATE", "SHOP_UPDATE",
    "APP_UNINSTALLED", "BULK_OPERATIONS_FINISH", "CUSTOMERS_CREATE", "CUSTOMERS_UPDATE", "CUSTOMERS_DELETE",
    "ORDERS_CREATE", "ORDERS_UPDATED", "ORDERS_CANCELLED", "FULFILLMENTS_CREATE", "FULFILLMENTS_UPDATE",
    "REFUNDS_CREATE", "COMPANIES_CREATE", "COMPANIES_UPDATE", "COMPANIES_DELETE", "COMPANY_CONTACTS_CREATE",
    "COMPANY_CONTACTS_UPDATE", "COMPANY_CONTACTS_DELETE", "COMPANY_LOCATIONS_CREATE", "COMPANY_LOCATIONS_UPDATE",
    "COMPANY_LOCATIONS_DELETE",
)

_VARIANT_FIELDS = f"""
fragment VariantFields on ProductVariant {{
  id legacyResourceId sku position price compareAtPrice
  selectedOptions {{ name value }}
  image {{ url }}
  inventoryItem {{
    id
    measurement {{ weight {{ unit value }} }}
    inventoryLevels(first: {LEVELS_PER_PAGE}) {{
      pageInfo {{ hasNextPage endCursor }}
      nodes {{ location {{ legacyResourceId }} quantities(names: ["available"]) {{ name quantity }} }}
    }}
  }}
  metafields(namespace: "{NAMESPACE}", first: {METAFIELDS_PER_PAGE}) {{
    pageInfo {{ hasNextPage endCursor }}
    nodes {{ key type value }}
  }}
}}"""

_PRODUCT_FIELDS = f"""
fragment ProductFields on Product {{
  id legacyResourceId handle title status updatedAt
  options {{ name position values }}
  featuredMedia {{ ... on MediaImage {{ image {{ url }} }} }}
  variants(first: {VARIANTS_PER_PAGE}) {{
    pageInfo {{ hasNextPage endCursor }}
    nodes {{ ...VariantFields }}
  }}
}}"""

SHOP = """
query Shop {
  shop { id name myshopifyDomain currencyCode }
}"""

PRODUCTS = f"""
query Products($first: Int!, $after: String, $query: String) {{
  products(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {{
    pageInfo {{ hasNextPage endCursor }}
    nodes {{ ...ProductFields }}
  }}
}}{_PRODUCT_FIELDS}{_VARIANT_FIELDS}"""

PRODUCT_NODES = f"""
query ProductNodes($ids: [ID!]!) {{
  nodes(ids: $ids) {{
    __typename id
    ... on Product {{ ...ProductFields }}
  }}
}}{_PRODUCT_FIELDS}{_VARIANT_FIELDS}"""

PRODUCT_VARIANTS_AFTER = f"""
query ProductVariantsAfter($id: ID!, $after: String) {{
  node(id: $id) {{
    ... on Product {{
      variants(first: {VARIANTS_PER_PAGE}, after: $after) {{
        pageInfo {{ hasNextPage endCursor }}
        nodes {{ ...VariantFields }}
      }}
    }}
  }}
}}{_VARIANT_FIELDS}"""

VARIANT_LEVELS_AFTER = f"""
query VariantLevelsAfter($id: ID!, $after: String) {{
  node(id: $id) {{
    ... on ProductVariant {{
      inventoryItem {{
        inventoryLevels(first: {LEVELS_PER_PAGE * 10}, after: $after) {{
          pageInfo {{ hasNextPage endCursor }}
          nodes {{ location {{ legacyResourceId }} quantities(names: ["available"]) {{ name quantity }} }}
        }}
      }}
    }}
  }}
}}"""

VARIANT_METAFIELDS_AFTER = f"""
query VariantMetafieldsAfter($id: ID!, $after: String) {{
  node(id: $id) {{
    ... on ProductVariant {{
      metafields(namespace: "{NAMESPACE}", first: {METAFIELDS_PER_PAGE * 10}, after: $after) {{
        pageInfo {{ hasNextPage endCursor }}
        nodes {{ key type value }}
      }}
    }}
  }}
}}"""

LOCATIONS = """
query Locations($first: Int!, $after: String) {
  locations(first: $first, after: $after, includeInactive: true) {
    pageInfo { hasNextPage endCursor }
    nodes { id legacyResourceId name isActive }
  }
}"""

CUSTOMERS_PER_PAGE = 13
"""Each customer costs up to 75 points (20 addresses, 30 metafields, a company contact profile with its location's
addresses and first 5 catalogs), counting every address as an object."""
LOCATION_CATALOGS = 5
ADDRESSES_PER_CUSTOMER = 20
CUSTOMER_METAFIELDS = 30
_CUSTOMER_FIELDS = f"""
fragment CustomerFields on Customer {{
  id legacyResourceId email firstName lastName phone tags taxExempt updatedAt
  addresses(first: {ADDRESSES_PER_CUSTOMER}) {{
    id firstName lastName company address1 address2 city provinceCode countryCodeV2 zip phone
  }}
  metafields(namespace: "{NAMESPACE}", first: {CUSTOMER_METAFIELDS}) {{ nodes {{ key type value }} }}
  companyContactProfiles {{
    isMainContact title
    company {{ name externalId mainContact {{ customer {{ legacyResourceId }} }} }}
    roleAssignments(first: 1) {{ nodes {{ companyLocation {{
      id externalId taxSettings {{ taxExempt }}
      billingAddress {{ ...CompanyAddressFields }}
      shippingAddress {{ ...CompanyAddressFields }}
      catalogs(first: {LOCATION_CATALOGS}) {{ nodes {{ status priceList {{ id }} }} }}
    }} }} }}
  }}
}}
fragment CompanyAddressFields on CompanyAddress {{
  firstName lastName companyName address1 address2 city zoneCode zip countryCode phone
}}"""

CUSTOMERS = f"""
query Customers($first: Int!, $after: String, $query: String) {{
  customers(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {{
    pageInfo {{ hasNextPage endCursor }}
    nodes {{ ...CustomerFields }}
  }}
}}
{_CUSTOMER_FIELDS}"""

CUSTOMER_NODES = f"""
query CustomerNodes($ids: [ID!]!) {{
  nodes(ids: $ids) {{ __typename ... on Customer {{ ...CustomerFields }} }}
}}
{_CUSTOMER_FIELDS}"""

B2B_NODES_PER_REQUEST = 5
CONTACTS_PER_B2B_OBJECT = 50
B2B_CUSTOMERS = f"""
query B2BCustomers($ids: [ID!]!) {{
  nodes(ids: $ids) {{
    __typename
    ... on Company {{ contacts(first: {CONTACTS_PER_B2B_OBJECT}) {{ nodes {{ customer {{ legacyResourceId }} }} }} }}
    ... on CompanyContact {{ customer {{ legacyResourceId }} }}
    ... on CompanyLocation {{
      roleAssignments(first: {CONTACTS_PER_B2B_OBJECT}) {{ nodes {{ companyContact {{ customer {{ legacyResourceId }} }} }} }}
    }}
  }}
}}"""
"""The customers of the companies, contacts and locations a webhook named (5 a request, <= 765 points)."""

CUSTOMER_BY_EMAIL = """
query CustomerByEmail($email: String!) {
  customerByIdentifier(identifier: {emailAddress: $email}) { id legacyResourceId }
}"""

CUSTOMER_CREATE = """
mutation CustomerCreate($input: CustomerInput!) {
  customerCreate(input: $input) {
    customer { id legacyResourceId }
    userErrors { field message }
  }
}"""

CUSTOMER_UPDATE = """
mutation CustomerUpdate($input: CustomerInput!) {
  customerUpdate(input: $input) {
    customer { id }
    userErrors { field message }
  }
}"""

TAGS_ADD = """
mutation TagsAdd($id: ID!, $tags: [String!]!) {
  tagsAdd(id: $id, tags: $tags) {
    node { id }
    userErrors { field message }
  }
}"""

METAFIELDS_SET = """
mutation MetafieldsSet($metafields: [MetafieldsSetInput!]!) {
  metafieldsSet(metafields: $metafields) {
    metafields { key }
    userErrors { field message code }
  }
}"""

ORDERS_PER_PAGE = 1
"""An order costs up to 794 points (50 lines, 5 fulfillments and 5 refunds of 25 items each), counting every
item of a list field as an object: one a page."""
LINES_PER_ORDER = 50
FULFILLMENTS_PER_ORDER = 5
REFUNDS_PER_ORDER = 5
ITEMS_PER_PACKAGE = 25
_ORDER_FIELDS = f"""
fragment OrderFields on Order {{
  id legacyResourceId name processedAt updatedAt cancelledAt currencyCode email tags
  customAttributes {{ key value }}
  orderImport: metafield(namespace: "{NAMESPACE}", key: "order_import") {{ value }}
  shippingLine {{ title }}
  customer {{ id legacyResourceId email }}
  shippingAddress {{ ...OrderAddress }}
  billingAddress {{ ...OrderAddress }}
  lineItems(first: {LINES_PER_ORDER}) {{
    pageInfo {{ hasNextPage }}
    nodes {{ id sku name quantity currentQuantity variant {{ legacyResourceId }}
             originalUnitPriceSet {{ shopMoney {{ amount }} }}
             customAttributes {{ key value }} }}
  }}
  fulfillments(first: {FULFILLMENTS_PER_ORDER}) {{
    id createdAt status trackingInfo(first: 1) {{ company number url }}
    fulfillmentLineItems(first: {ITEMS_PER_PACKAGE}) {{ pageInfo {{ hasNextPage }} nodes {{ quantity lineItem {{ id }} }} }}
  }}
  refunds(first: {REFUNDS_PER_ORDER}) {{
    id createdAt
    refundLineItems(first: {ITEMS_PER_PACKAGE}) {{
      pageInfo {{ hasNextPage }} nodes {{ quantity restockType lineItem {{ id }} }}
    }}
  }}
}}
fragment OrderAddress on MailingAddress {{
  id firstName lastName company address1 address2 city provinceCode countryCodeV2 zip phone
}}"""

ORDERS = f"""
query Orders($first: Int!, $after: String, $query: String) {{
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {{
    pageInfo {{ hasNextPage endCursor }}
    nodes {{ ...OrderFields }}
  }}
}}
{_ORDER_FIELDS}"""

ORDER_NODES = f"""
query OrderNodes($ids: [ID!]!) {{
  nodes(ids: $ids) {{ __typename ... on Order {{ ...OrderFields }} }}
}}
{_ORDER_FIELDS}"""

CATALOGS_PER_PAGE = 50
CATALOGS = """
query B2BCatalogs($first: Int!, $after: String) {
  catalogs(first: $first, after: $after, type: COMPANY_LOCATION) {
    pageInfo { hasNextPage endCursor }
    nodes { id title status priceList { id name currency } }
  }
}"""

PRICES_PER_PAGE = 36
BREAKS_PER_PRICE = 10
"""A price costs 26 points with its 10 quantity breaks: 36 a page stay under the 1,000-point cap."""
PRICE_LIST_PRICES = f"""
query PriceListPrices($id: ID!, $first: Int!, $after: String) {{
  priceList(id: $id) {{
    prices(first: $first, after: $after) {{
      pageInfo {{ hasNextPage endCursor }}
      nodes {{
        price {{ amount }}
        variant {{ id sku product {{ status }} }}
        quantityPriceBreaks(first: {BREAKS_PER_PRICE}) {{
          pageInfo {{ hasNextPage }}
          nodes {{ minimumQuantity price {{ amount }} }}
        }}
      }}
    }}
  }}
}}"""

WEBHOOK_SUBSCRIPTIONS = """
query WebhookSubscriptions($first: Int!, $after: String) {
  webhookSubscriptions(first: $first, after: $after) {
    pageInfo { hasNextPage endCursor }
    nodes { id topic endpoint { __typename ... on WebhookHttpEndpoint { callbackUrl } } }
  }
}"""

WEBHOOK_SUBSCRIPTION_CREATE = """
mutation WebhookSubscriptionCreate($topic: WebhookSubscriptionTopic!, $input: WebhookSubscriptionInput!) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: $input) {
    webhookSubscription { id topic }
    userErrors { field message }
  }
}"""

WEBHOOK_SUBSCRIPTION_DELETE = """
mutation WebhookSubscriptionDelete($id: ID!) {
  webhookSubscriptionDelete(id: $id) {
    deletedWebhookSubscriptionId
    userErrors { field message }
  }
}"""

INVENTORY_ITEM_PRODUCTS = """
query InventoryItemProducts($ids: [ID!]!) {
  nodes(ids: $ids) {
    id
    ... on InventoryItem { variant { product { id } } }
  }
}"""
INVENTORY_ITEMS_PER_REQUEST = 100

PRODUCTS_COUNT = """
query ProductsCount {
  productsCount { count precision }
}"""
BULK_FROM_PRODUCTS = 250
"""A full read of a store with at least this many products runs as bulk operations; a smaller one is paged."""

BULK_PRODUCTS = """
query {
  products {
    edges { node {
      id legacyResourceId handle title status updatedAt
      options { name position values }
      featuredMedia { ... on MediaImage { image { url } } }
      variants { edges { node {
        id legacyResourceId sku position price compareAtPrice
        selectedOptions { name value }
        image { url }
        inventoryItem { id measurement { weight { unit value } } }
      } } }
    } }
  }
}"""
"""Bulk queries nest connections at most two deep, so a variant's metafields and stock come from a second one."""

BULK_VARIANT_DETAILS = f"""
query {{
  productVariants {{
    edges {{ node {{
      id
      metafields(namespace: "{NAMESPACE}") {{ edges {{ node {{ key type value }} }} }}
      inventoryItem {{
        inventoryLevels {{ edges {{ node {{
          location {{ legacyResourceId }} quantities(names: ["available"]) {{ name quantity }}
        }} }} }}
      }}
    }} }}
  }}
}}"""

BULK_OPERATION_RUN_QUERY = """
mutation BulkOperationRunQuery($query: String!) {
  bulkOperationRunQuery(query: $query) {
    bulkOperation { id status }
    userErrors { field message code }
  }
}"""

CURRENT_BULK_OPERATION = """
query CurrentBulkOperation {
  currentBulkOperation(type: QUERY) { id status errorCode objectCount url partialDataUrl }
}"""
