"""Contract-faithful simulators of SparkLayer and Marketplacer, for the demo, the tests and the benchmarks."""

SPARKLAYER_PORT = 8091
MARKETPLACER_PORT = 8092
