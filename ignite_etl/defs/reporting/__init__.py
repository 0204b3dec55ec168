"""What analysts and operators read: `sync_errors`, `sync_health`, their checks, and the sensors
that keep them current and record failed syncs."""
