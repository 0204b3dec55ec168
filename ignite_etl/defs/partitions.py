"""One partition per connection, keyed `{siteEnv}-{siteId}`; only sensors add or remove keys."""

import dagster as dg

connections_partitions = dg.DynamicPartitionsDefinition(name="connections")

CONNECTION_TAG = "ignite/connection"
