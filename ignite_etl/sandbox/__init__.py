"""Contract-faithful simulators of SparkLayer, Marketplacer and Shopify, for the demo, the tests and the benchmarks."""

SPARKLAYER_PORT = 8091
MARKETPLACER_PORT = 8092
SHOPIFY_PORT = 8093
