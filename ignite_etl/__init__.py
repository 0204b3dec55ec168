"""ignite-etl: keeps a SparkLayer site in step with an eCommerce platform store."""

__version__ = "0.1.0"
