"""Settings of the lifecycle jobs that are not per connection."""

import dagster as dg

from ignite_etl.settings import Settings


class LifecycleSettings(dg.ConfigurableResource):
    public_url: str
    """IGNITE_PUBLIC_URL: the ingress as the platform reaches it; webhooks are registered under it."""
    removal_wait_seconds: float = 60.0
    """How long a removal waits for the connection's cancelled runs to stop before it retries."""

    def webhook_url(self, platform: str, connection_id: str) -> str:
        return f"{self.public_url.rstrip('/')}/webhooks/{platform}/{connection_id}"


@dg.definitions
def lifecycle_resources() -> dg.Definitions:
    # not a secret; read here, at the composition root, so it shows in the UI
    return dg.Definitions(resources={"lifecycle_settings": LifecycleSettings(public_url=Settings.from_env().public_url)})
