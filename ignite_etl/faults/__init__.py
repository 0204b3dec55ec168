"""`ignite-etl faults`: each fault injected into the real stack (run workers in their own processes, the
ingress as `ignite-etl ingress` serves it, both simulators, Postgres), then recovery measured: did it
converge, were records lost or duplicated, how long it took. RELIABILITY.md holds the figures."""
