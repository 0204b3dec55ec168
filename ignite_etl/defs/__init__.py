"""Everything Dagster-facing: assets, checks, jobs, sensors, schedules, resources, partitions."""
