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


def take_if_free(conn: Conn, scope: str, cost_seconds: float, capacity_seconds: float) -> float:
    """A leaky bucket kept as the time it will be full again (`next_at`): take `cost_seconds` of it if, with
    them, it stays within `capacity_seconds` of now, and answer 0; else take nothing and answer the seconds
    until it would fit. Nothing is booked ahead, so what is taken is what is about to be spent. The take is
    one statement under the row's lock (a new scope starts full)."""
    params = {"scope": scope, "cost": cost_seconds, "capacity": capacity_seconds}
    taken = conn.execute(
        """
        insert into rate_limits as r (scope, next_at) values (%(scope)s, clock_timestamp() + make_interval(secs => %(cost)s))
        on conflict (scope) do update
            set next_at = greatest(r.next_at, clock_timestamp()) + make_interval(secs => %(cost)s)
            where extract(epoch from greatest(r.next_at, clock_timestamp()) - clock_timestamp()) + %(cost)s
                  <= %(capacity)s
        returning 1 as took
        """,
        params,
    ).fetchone()
    if taken:
        return 0.0
    row = conn.execute(
        """
        select extract(epoch from greatest(next_at, clock_timestamp()) - clock_timestamp())::float8
               + %(cost)s - %(capacity)s as wait
          from rate_limits where scope = %(scope)s
        """,
        params,
    ).fetchone()
    return max(float(one(row)["wait"]), 1e-3)


def give_back(conn: Conn, scope: str, seconds: float) -> None:
    """Return `seconds` of what was taken (a query's cost refunded after it ran); negative `seconds` take
    more, past the capacity (what was spent and is already gone). An idle scope stays idle."""
    conn.execute(
        """
        update rate_limits
           set next_at = greatest(greatest(next_at, clock_timestamp()) - make_interval(secs => %(seconds)s),
                                  clock_timestamp())
         where scope = %(scope)s
        """,
        {"scope": scope, "seconds": seconds},
    )
