"""The nightly reconcile: a diff-based full sync of every connected store."""
