"""How the change queue retries (attempts before a dead letter, the backoff) and how long a partial sync
lingers for more changes, from the settings."""

from datetime import timedelta

import dagster as dg

from ignite_etl.settings import Settings
from ignite_etl.store.change_queue import DEFAULT_MAX_ATTEMPTS, RetryPolicy

DEFAULT_LINGER_SECONDS = 10.0


class ChangeQueuePolicy(dg.ConfigurableResource):
    """A failing change is tried `max_attempts` times (rate-limit waits do not count), waiting
    `base_delay_seconds` * 2^(n-1), at most `max_delay_seconds`, then becomes a dead letter."""

    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    base_delay_seconds: float = 30.0
    max_delay_seconds: float = 3600.0
    linger_seconds: float = DEFAULT_LINGER_SECONDS
    """How long a partial sync keeps watching its connection's queue once it is empty, so changes that
    keep coming are written by the run already going (at the cost of holding the connection's run
    slot that long)."""

    def policy(self) -> RetryPolicy:
        return RetryPolicy(
            max_attempts=max(1, self.max_attempts),
            base_delay=timedelta(seconds=self.base_delay_seconds),
            max_delay=timedelta(seconds=self.max_delay_seconds),
        )


@dg.definitions
def change_queue_resources() -> dg.Definitions:
    settings = Settings.from_env()
    return dg.Definitions(
        resources={
            "change_queue_policy": ChangeQueuePolicy(
                max_attempts=settings.queue_max_attempts,
                base_delay_seconds=settings.queue_retry_seconds,
                linger_seconds=settings.queue_linger_seconds,
            )
        }
    )
