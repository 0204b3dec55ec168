"""Contract-faithful simulators of SparkLayer and Marketplacer, for the demo, the tests and the benchmarks."""
