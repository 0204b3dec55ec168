"""`complete_connection`: what a connection needs once both sides' credentials are known.

Set the SparkLayer site up (the platform's price list and stock location first, then the base currency,
whose refusal does not stop completion) and register the platform's change webhooks (their signing key
stored encrypted). Every step is safe to repeat: the platform keeps a registration that still stands and
retires one made with another key or URL, and settings are written only when they differ from what
SparkLayer last accepted. The lifecycle sensor starts the full sync after.
"""

import dagster as dg

from ignite_etl.defs.lifecycle.resources import LifecycleSettings
from ignite_etl.defs.partitions import MAX_RUNTIME_TAG, STEP_MAX_RUNTIME, connections_partitions
from ignite_etl.defs.resources import SyncServices
from ignite_etl.defs.sync import loading
from ignite_etl.platforms import WebhookRegistration
from ignite_etl.store import connections
from ignite_etl.sync import full

_RETRY = dg.RetryPolicy(max_retries=3, delay=10, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS)


@dg.op(out=dg.Out(dg.Nothing), retry_policy=_RETRY)
def set_up_site(context: dg.OpExecutionContext, sync_services: SyncServices) -> None:
    """The platform's price list and stock locations, then the base currency, through the same step the
    full sync starts with; a refused base currency is reported to the sync log and completion goes on."""
    result = full.set_up(sync_services.services(), loading.sync_run(context, sync_services), dry_run=False,
                         log_kind="partial")
    for warning in result.warnings:
        context.log.warning(warning)
    context.add_output_metadata(loading.metadata(result.metadata))


@dg.op(ins={"after": dg.In(dg.Nothing)}, out=dg.Out(dg.Nothing), retry_policy=_RETRY)
def register_platform_webhooks(
    context: dg.OpExecutionContext, sync_services: SyncServices, lifecycle_settings: LifecycleSettings
) -> None:
    """Ask the platform to send change webhooks to the ingress (the signing key kept encrypted); webhooks of
    an earlier registration, for another key or URL, are retired by the platform."""
    app_db = sync_services.app_db
    connection = app_db.connection(context.partition_key)
    url = lifecycle_settings.webhook_url(connection.platform, connection.id)
    previous = WebhookRegistration(connection.webhook_secret, connection.webhook_state) if connection.webhook_secret else None
    with sync_services.platform(connection) as platform:
        registration = platform.register_webhooks(url, previous)
    if registration == previous:
        context.log.info("webhooks already registered for %s", url)
        return
    with app_db.connect() as conn, conn.transaction():
        connections.save_webhook_registration(conn, app_db.cipher, connection.id, url=url, key=registration.key,
                                              state=registration.state)
    context.log.info("registered %s webhooks for %s", connection.platform, url)
    context.add_output_metadata({"webhooks": len(registration.state.get("ids", [])),
                                 "retired": len(registration.state.get("retired", []))})


@dg.job(
    partitions_def=connections_partitions,
    tags={"ignite/lifecycle": "complete", MAX_RUNTIME_TAG: STEP_MAX_RUNTIME},
    description="Complete a connection: set the SparkLayer site up (price list, stock location, base currency) "
    "and register the platform's webhooks. The lifecycle sensor then starts its full sync.",
)
def complete_connection():
    register_platform_webhooks(after=set_up_site())
