"""Request reservations against a platform's rate limit, shared by every process (table `rate_limits`)."""

from __future__ import annotations

from ignite_etl.store.database import Conn, one


def reserve(conn: Conn, scope: str, interval_seconds: float, burst_seconds: float) -> float:
    """Reserve the next request of `scope`; the seconds the caller must wait before sending it.

    Requests are spaced `interval_seconds` apart on average, and up to `burst_seconds` of them may be sent
    ahead of that spacing. One statement under the row's lock, so concurrent callers never take the same
    slot; the database's clock, so callers on other machines agree."""
    row = conn.execute(
        """
        insert into rate_limits as r (scope, next_at) values (%(scope)s, clock_timestamp() + make_interval(secs => %(interval)s))
        on conflict (scope) do update
            set next_at = greatest(r.next_at, clock_timestamp()) + make_interval(secs => %(interval)s)
        returning greatest(extract(epoch from next_at - clock_timestamp())::float8 - %(burst)s - %(interval)s, 0) as wait
        """,
        {"scope": scope, "interval": interval_seconds, "burst": burst_seconds},
    ).fetchone()
    return float(one(row)["wait"])
