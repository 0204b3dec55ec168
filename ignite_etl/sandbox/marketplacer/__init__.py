"""A contract-faithful Marketplacer Operator API simulator: GraphQL, auth, rate limits, webhooks, generated catalogues."""

from ignite_etl.sandbox.marketplacer.sandbox import DEFAULT_API_KEY, MarketplacerSandbox, RateLimits

__all__ = ["DEFAULT_API_KEY", "MarketplacerSandbox", "RateLimits"]
