"""The ingress's own calls to a platform (the connect page's credentials check, SparkLayer's customer calls):
the adapter built with the ingress's short timeouts and run off the event loop, since a merchant or
SparkLayer waits for the answer and nobody else should."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from ignite_etl.platforms import ConnectSettings, Platform, PlatformSpec

T = TypeVar("T")


async def on_platform(request: Request, spec: PlatformSpec, settings: ConnectSettings,
                      work: Callable[[Platform], T]) -> T:
    ingress = request.app.state.config

    def run() -> T:
        with spec.build(settings, timeout=ingress.platform_timeout_seconds,
                        time_scale=ingress.platform_time_scale) as platform:
            return work(platform)

    return await run_in_threadpool(run)
