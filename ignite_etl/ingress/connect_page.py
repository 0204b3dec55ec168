"""`/connect/{token}`: where a merchant completes a connection SparkLayer's dashboard started.

The page asks for the Marketplacer API URL, key and base currency, checks them with one real query
against the store, and only then stores them encrypted and queues the connection's completion.
The token is one-time and expires; only its hash is stored.
"""

from __future__ import annotations

import html
import logging
from urllib.parse import parse_qs

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from ignite_etl.ingress.connect_request import check_api_url
from ignite_etl.ingress.http import Problem, read_body
from ignite_etl.platforms import InvalidConfiguration, InvalidCredentials, PlatformError, platform_for
from ignite_etl.store import connect_tokens, connecting, inbox

log = logging.getLogger(__name__)

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font-family:system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem}}
label{{display:block;margin-top:1rem}}input{{width:100%;padding:.4rem}}button{{margin-top:1.5rem;padding:.5rem 1rem}}
.error{{color:#a00}}</style></head>
<body><h1>{title}</h1>{content}</body></html>"""

_FORM = """<p>Connect your Marketplacer store to SparkLayer site <strong>{connection_id}</strong>.
Create an Operator API key in Marketplacer and enter it with your store's API URL.</p>
{error}
<form method="post">
<label>Marketplacer API URL <input name="marketplacer_api_url" value="{api_url}" required
  placeholder="https://yourstore.marketplacer.com/graphql"></label>
<label>Operator API key <input name="marketplacer_api_key" type="password" required autocomplete="off"></label>
<label>Base currency (ISO 4217) <input name="currency" value="{currency}" required maxlength="3" placeholder="AUD"></label>
<button type="submit">Connect</button>
</form>"""


def _page(title: str, content: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(_PAGE.format(title=html.escape(title), content=content), status_code=status,
                        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})


def _form(connection_id: str, config: dict, error: str | None = None, status: int = 200) -> HTMLResponse:
    content = _FORM.format(
        connection_id=html.escape(connection_id),
        error=f'<p class="error">{html.escape(error)}</p>' if error else "",
        api_url=html.escape(config.get("marketplacer_api_url") or ""),
        currency=html.escape(config.get("currency") or ""),
    )
    return _page("Connect your store", content, status)


def _unusable_link() -> Problem:
    return Problem(404, "This connect link is unknown, expired or already used. Start the connection again from "
                        "the SparkLayer dashboard to get a new link.")


async def _pending_connection(conn, token: str, *, lock: bool = False) -> dict:
    connection_id = await connect_tokens.valid_connection(conn, token, lock=lock)
    if connection_id is None:
        raise _unusable_link()
    row = await (connecting.lock(conn, connection_id) if lock else _read(conn, connection_id))
    if row is None or row["status"] == "removing":
        raise _unusable_link()
    return row


async def _read(conn, connection_id: str) -> dict | None:
    cursor = await conn.execute("select id, status, platform, platform_config from connection where id = %s",
                                (connection_id,))
    return await cursor.fetchone()


async def show_connect_form(request: Request) -> Response:
    async with request.app.state.db.connection() as conn:
        row = await _pending_connection(conn, request.path_params["token"])
    return _form(row["id"], row["platform_config"] or {})


async def submit_connect_form(request: Request) -> Response:
    token = request.path_params["token"]
    fields = {k: v[-1].strip() for k, v in parse_qs((await read_body(request)).decode("utf-8", "replace")).items()}
    async with request.app.state.db.connection() as conn:
        row = await _pending_connection(conn, token)
    connection_id = row["id"]
    config = {**(row["platform_config"] or {}), "platform": row["platform"],
              "marketplacer_api_url": fields.get("marketplacer_api_url", ""),
              "currency": fields.get("currency", "").upper()}
    secrets = {"marketplacer_api_key": fields.get("marketplacer_api_key", "")}
    error = _form_error(config, secrets)
    if error:
        return _form(connection_id, config, error, 400)
    error, status = await _check_credentials(request, row["platform"], config, secrets)
    if error:
        return _form(connection_id, config, error, status)

    async with request.app.state.db.connection() as conn, conn.transaction():
        row = await _pending_connection(conn, token, lock=True)  # still usable, and now ours
        await connecting.complete(conn, request.app.state.cipher, connection_id, config, secrets)
        await connect_tokens.use(conn, token)
        if not await inbox.has_unprocessed_connect(conn, connection_id):
            await inbox.record(conn, connection_id, inbox.CONNECT)
    log.info("connect page: %s completed", connection_id)
    return _page("Store connected", f"<p>Your store is connected to SparkLayer site <strong>"
                 f"{html.escape(connection_id)}</strong>. The first full sync starts in a moment; you can close "
                 "this page.</p>")


def _form_error(config: dict, secrets: dict) -> str | None:
    problem = check_api_url(config["marketplacer_api_url"])
    if problem:
        return problem[0].upper() + problem[1:] + "."
    if not secrets["marketplacer_api_key"]:
        return "Enter the Operator API key."
    currency = config["currency"]
    if len(currency) != 3 or not currency.isalpha():
        return "Enter the base currency as a three-letter ISO 4217 code, e.g. AUD."
    return None


async def _check_credentials(request: Request, platform_name: str, config: dict, secrets: dict) -> tuple[str | None, int]:
    """One real query against the store, off the event loop: the merchant waits for it, nobody else does."""
    ingress = request.app.state.config

    def check() -> None:
        with platform_for(platform_name, config, secrets, timeout=ingress.platform_timeout_seconds,
                          time_scale=ingress.platform_time_scale) as platform:
            platform.check_credentials()

    try:
        await run_in_threadpool(check)
    except InvalidCredentials:
        return "Marketplacer refused this API key. Check that it is an Operator API key for this store.", 400
    except InvalidConfiguration as exc:
        return str(exc), 400
    except PlatformError:
        return ("We could not query Marketplacer at this URL. Check the URL (it ends in /graphql) and try "
                "again."), 502
    return None, 200


connect_page_routes = [
    Route("/connect/{token}", show_connect_form, methods=["GET"]),
    Route("/connect/{token}", submit_connect_form, methods=["POST"]),
]
