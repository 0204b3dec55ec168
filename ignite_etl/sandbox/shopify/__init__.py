"""A simulated Shopify store: the Admin GraphQL API (a faithful subset of 2025-01), OAuth install, expiring
tokens, cost-based throttling, bulk operations and signed webhooks."""
