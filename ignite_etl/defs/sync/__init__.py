"""The per-connection full sync: assets, job."""
