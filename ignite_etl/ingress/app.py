"""The ingress as one Starlette app: SparkLayer's Ignite calls, platform webhooks, the connect page, /healthz.

Every handler is async on one pool of async Postgres connections (`app.state.db`, dict rows), so
nothing blocks the event loop; the one outbound call (the connect page's credentials check) runs
in a worker thread.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any, cast

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool, PoolTimeout
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ignite_etl.ingress.config import IngressConfig
from ignite_etl.ingress.connect_page import connect_page_routes
from ignite_etl.ingress.connections import connection_routes
from ignite_etl.ingress.customers import customer_routes
from ignite_etl.ingress.entities import entity_routes
from ignite_etl.ingress.guard import IngressGuard
from ignite_etl.ingress.http import Problem, problem_handler
from ignite_etl.ingress.install import install_exception_handlers, install_routes
from ignite_etl.ingress.openapi import openapi_json
from ignite_etl.ingress.privacy import privacy_routes
from ignite_etl.ingress.queue_writer import ChangeQueueWriter
from ignite_etl.ingress.webhooks import webhook_routes
from ignite_etl.problem import problem
from ignite_etl.store.cipher import CredentialCipher
from ignite_etl.store.database import AsyncConn

log = logging.getLogger(__name__)

HEALTH_TIMEOUT_SECONDS = 2.0


async def healthz(request: Request) -> Response:
    """200 when the database answers a query, else 503."""
    try:
        async with request.app.state.db.connection(timeout=HEALTH_TIMEOUT_SECONDS) as conn:
            await conn.execute("select 1")
    except (PoolTimeout, psycopg.Error):
        return problem(503, "The database does not answer.", headers={"Retry-After": "5"})
    return JSONResponse({"status": "ok", "database": "ok"})


async def _http_error(request: Request, exc: HTTPException) -> Response:
    return problem(exc.status_code, exc.detail or "", headers=getattr(exc, "headers", None))


def create_app(config: IngressConfig) -> Starlette:
    cipher = CredentialCipher(config.secret_key)  # refuses a malformed key before we serve anything

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        pool: AsyncConnectionPool[AsyncConn] = AsyncConnectionPool(
            config.database_url, kwargs={"row_factory": dict_row}, min_size=config.pool_min_size,
            max_size=config.pool_max_size, timeout=config.pool_timeout_seconds, open=False, name="ingress",
        )
        await pool.open()  # without waiting: /healthz reports a database that is not up yet
        app.state.db = pool
        app.state.queue_writer = ChangeQueueWriter(pool, connection_timeout=config.pool_timeout_seconds)
        app.state.cipher = cipher
        app.state.config = config
        try:
            yield
        finally:
            await pool.close()

    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/openapi.json", openapi_json, methods=["GET"]),
        *connection_routes,
        *customer_routes,
        *entity_routes,
        *connect_page_routes,
        *install_routes,
        *privacy_routes,  # before the per-connection webhooks: `privacy` is no connection id
        *webhook_routes,
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        middleware=[Middleware(IngressGuard)],
        exception_handlers=cast(Any, {Problem: problem_handler, **install_exception_handlers, HTTPException: _http_error}),
    )
    app.router.redirect_slashes = False  # a redirect would be built from the Host header the client sent
    return app
