"""A contract-faithful SparkLayer simulator for the tests, the demo and the benchmarks."""

from ignite_etl.sandbox.sparklayer.controls import JournalEntry
from ignite_etl.sandbox.sparklayer.sandbox import SparkLayerSandbox

__all__ = ["JournalEntry", "SparkLayerSandbox"]
