"""The sync itself, as plain Python: frames to request bodies, diffs to writes, the sync log."""
