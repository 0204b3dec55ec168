"""`complete_connection`: what a connection needs once both sides' credentials are known.

Register the platform's change webhooks (their signing key stored encrypted), write the store
settings and create the platform's price list in SparkLayer. Every step is safe to repeat: webhooks
are registered again only when the URL changed or no key is stored, and settings are written only
when they differ from what SparkLayer last accepted. The lifecycle sensor starts the full sync after.
"""

import dagster as dg

from ignite_etl.defs.lifecycle.resources import LifecycleSettings
from ignite_etl.defs.partitions import connections_partitions
from ignite_etl.defs.resources import SyncServices
from ignite_etl.defs.sync import loading
from ignite_etl.store import connections

_RETRY = dg.RetryPolicy(max_retries=3, delay=10, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS)


@dg.op(out=dg.Out(dg.Nothing), retry_policy=_RETRY)
def register_platform_webhooks(
    context: dg.OpExecutionContext, sync_services: SyncServices, lifecycle_settings: LifecycleSettings
) -> None:
    """Ask the platform to send change webhooks to the ingress; keep the signing key encrypted."""
    app_db = sync_services.app_db
    connection = app_db.connection(context.partition_key)
    url = lifecycle_settings.webhook_url(connection.platform, connection.id)
    with app_db.connect() as conn:
        registered_url = connections.webhook_url(conn, connection.id)
    if connection.webhook_secret and registered_url == url:
        context.log.info("webhooks already registered for %s", url)
        return
    with sync_services.platform(connection) as platform:
        key = platform.register_webhooks(url)
    with app_db.connect() as conn, conn.transaction():
        connections.set_webhook_secret(conn, app_db.cipher, connection.id, key)
        connections.set_webhook_url(conn, connection.id, url)
    context.log.info("registered %s webhooks for %s", connection.platform, url)


@dg.op(ins={"after": dg.In(dg.Nothing)}, out=dg.Out(dg.Nothing), retry_policy=_RETRY)
def sync_store_settings(context: dg.OpExecutionContext, sync_services: SyncServices) -> None:
    """Base currency and the platform price list, through the same step the full sync uses, so the
    full sync that follows finds them up to date."""
    result = loading.load_settings(context, sync_services, dry_run=False)
    context.log.info("store settings: %s", {k: v for k, v in result.metadata.items()})


@dg.job(
    partitions_def=connections_partitions,
    executor_def=dg.in_process_executor,
    tags={"ignite/lifecycle": "complete"},
    description="Complete a connection: register the platform's webhooks, write store settings and the "
    "platform price list to SparkLayer. The lifecycle sensor then starts its full sync.",
)
def complete_connection():
    sync_store_settings(after=register_platform_webhooks())
