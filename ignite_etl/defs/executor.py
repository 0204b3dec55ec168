"""Where every job's steps run: in the run's own process (the default, one machine), or on Celery workers
(`ignite-etl worker`) when IGNITE_CELERY_BROKER_URL is set (`ignite_etl/workers.py`)."""

import dagster as dg
from dagster_celery import celery_executor

from ignite_etl import workers
from ignite_etl.settings import Settings


@dg.definitions
def executor() -> dg.Definitions:
    if not Settings.from_env().celery_broker_url:
        return dg.Definitions(executor=dg.in_process_executor)
    return dg.Definitions(executor=celery_executor.configured(workers.executor_config(), name="celery"))
