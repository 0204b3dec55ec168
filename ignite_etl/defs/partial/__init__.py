"""Webhook-driven partial sync: the change-queue sensor, the partial_sync and replay jobs, and the
periodic orders pass."""
