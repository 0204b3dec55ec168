"""The ingress's own calls to a platform (the connect page's credentials check, SparkLayer's customer calls):
the adapter built with the ingress's outbound policy and a short deadline for the whole call, run off the
event loop, a few at a time, since a merchant or SparkLayer waits for the answer and nobody else should."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from ignite_etl.ingress.http import Problem
from ignite_etl.platforms import ConnectSettings, Platform, PlatformSpec
from ignite_etl.platforms.outbound import OutboundPolicy

T = TypeVar("T")


def _slots(request: Request) -> asyncio.Semaphore:
    slots = getattr(request.app.state, "platform_slots", None)
    if slots is None:
        slots = request.app.state.platform_slots = asyncio.Semaphore(request.app.state.config.max_platform_calls)
    return slots


async def on_platform(request: Request, spec: PlatformSpec, settings: ConnectSettings,
                      work: Callable[[Platform], T]) -> T:
    """`work` on the connected adapter; 503 at once when the ingress's platform calls are all in use."""
    ingress = request.app.state.config
    slots = _slots(request)
    if slots.locked():
        raise Problem(503, f"Too many {spec.display_name} checks are running; try again in a minute.",
                      headers={"Retry-After": "30"})

    # an app-store platform's adapter may refresh its token with the app's credentials; a refresh here is not
    # stored (the stored refresh token stays valid until its replacement is first used)
    app = {"app": ingress.platform_apps.get(spec.name, {})} if spec.install is not None else {}

    def run() -> T:
        with spec.build(settings, timeout=ingress.platform_timeout_seconds, time_scale=ingress.platform_time_scale,
                        deadline_seconds=ingress.platform_timeout_seconds,
                        outbound=OutboundPolicy.named(ingress.outbound_policy), **app) as platform:
            return work(platform)

    async with slots:
        return await run_in_threadpool(run)
