"""The HTTP ingress: SparkLayer's connection calls and platform webhooks, recorded fast into Postgres."""
