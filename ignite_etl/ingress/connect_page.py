"""`/connect/{token}`: where a merchant completes a connection SparkLayer's dashboard started.

The page asks for the settings the connection's platform declares (its registered form fields; first which
platform, when SparkLayer's call did not say), checks
them with one real query against the store, and only then stores them (the secret ones encrypted) and
queues the connection's completion. The token is one-time and expires; only its hash is stored.
"""

from __future__ import annotations

import html
import logging
from urllib.parse import parse_qs, quote

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from ignite_etl.ingress.http import Problem, read_body
from ignite_etl.ingress.pages import page, sentence
from ignite_etl.ingress.platform_calls import on_platform
from ignite_etl.platforms import (
    ConnectSettings,
    InvalidConfiguration,
    InvalidCredentials,
    InvalidSettings,
    PlatformError,
    PlatformSpec,
    platform_spec,
    platform_specs,
)
from ignite_etl.store import connect_tokens, connecting, inbox

log = logging.getLogger(__name__)

MAX_CHECKS_PER_LINK = 5
"""Credential checks one link may make (each one calls the URL the merchant typed)."""


def _chooser(connection_id: str) -> HTMLResponse:
    """The platforms a merchant may connect, when SparkLayer's call did not say which."""
    choices = "".join(f'<li><a href="?platform={quote(spec.name)}">{html.escape(spec.display_name)}</a></li>\n'
                      for spec in platform_specs())
    return page("Connect your store", f"<p>Which platform is the store you are connecting to SparkLayer site "
                f"<strong>{html.escape(connection_id)}</strong> on?</p>\n<ul>\n{choices}</ul>")


def _spec_for(row: dict, chosen: str | None) -> PlatformSpec | None:
    """The connection's platform, or the one the merchant chose when the connect call named none."""
    name = row["platform"] or chosen
    if not name:
        return None
    try:
        return platform_spec(name)
    except InvalidConfiguration:
        if row["platform"]:
            raise
        raise Problem(400, f"There is no platform {name!r} to connect; choose one of the platforms listed.") from None


def _form(spec: PlatformSpec, connection_id: str, config: dict, error: str | None = None,
          status: int = 200) -> HTMLResponse:
    inputs = "".join(
        f'<label>{html.escape(f.label)} <input name="{f.name}" required'
        + (' type="password" autocomplete="off"' if f.secret else f' value="{html.escape(str(config.get(f.name) or ""))}"')
        + (f' placeholder="{html.escape(f.placeholder)}"' if f.placeholder else "")
        + (f' maxlength="{f.max_length}"' if f.max_length else "") + "></label>\n"
        for f in spec.form_fields
    )
    content = (f"<p>Connect your {html.escape(spec.display_name)} store to SparkLayer site <strong>"
               f"{html.escape(connection_id)}</strong>. {html.escape(spec.connect_help)}</p>\n"
               + (f'<p class="error">{html.escape(error)}</p>\n' if error else "")
               + f'<form method="post">\n<input type="hidden" name="platform" value="{html.escape(spec.name)}">\n'
               f'{inputs}<button type="submit">Connect</button>\n</form>')
    return page("Connect your store", content, status)


def _link_refused(spec: PlatformSpec, connection_id: str, shown: dict, why: str) -> Response:
    if why == "busy":
        return _form(spec, connection_id, shown, "These settings are being checked already; wait for that "
                                                 "check to finish.", 409)
    if why == "exhausted":
        return page("Connect link used up", f"<p>This link has been tried {MAX_CHECKS_PER_LINK} times. Start the "
                    "connection again from the SparkLayer dashboard to get a new link.</p>", 429)
    raise _unusable_link()


def _unusable_link() -> Problem:
    return Problem(404, "This connect link is unknown, expired or already used. Start the connection again from "
                        "the SparkLayer dashboard to get a new link.")


async def _pending_connection(conn, token: str, *, lock: bool = False) -> dict:
    connection_id = await connect_tokens.valid_connection(conn, token, lock=lock)
    if connection_id is None:
        raise _unusable_link()
    row = await connecting.read(conn, connection_id, lock=lock)
    if row is None or row["status"] != "pending":  # a connected store is never changed through a link
        raise _unusable_link()
    return row


async def show_connect_form(request: Request) -> Response:
    async with request.app.state.db.connection() as conn:
        row = await _pending_connection(conn, request.path_params["token"])
    spec = _spec_for(row, request.query_params.get("platform"))
    if spec is None:
        return _chooser(row["id"])
    return _form(spec, row["id"], row["platform_config"] or {})


async def submit_connect_form(request: Request) -> Response:
    token = request.path_params["token"]
    fields = {k: v[-1].strip() for k, v in parse_qs((await read_body(request)).decode("utf-8", "replace")).items()}
    async with request.app.state.db.connection() as conn:
        row = await _pending_connection(conn, token)
    connection_id = row["id"]
    spec = _spec_for(row, fields.get("platform"))
    if spec is None:
        return _chooser(connection_id)
    stored = row["platform_config"] or {}
    entered = {f.name: fields.get(f.name, "") for f in spec.form_fields}
    shown = {**stored, **{f.name: entered[f.name] for f in spec.form_fields if not f.secret}}
    try:
        settings = spec.settings.parse({**stored, **entered})
    except InvalidSettings as exc:
        return _form(spec, connection_id, shown, sentence(next(iter(exc.problems.values()))), 400)
    if not settings.complete:
        missing = next(f.label for f in spec.form_fields if f.name in spec.settings.required and not getattr(settings, f.name))
        return _form(spec, connection_id, shown, f"Enter the {missing}.", 400)
    async with request.app.state.db.connection() as conn:
        taken = await connect_tokens.begin_check(conn, token, max_attempts=MAX_CHECKS_PER_LINK,
                                                 hold_seconds=request.app.state.config.platform_timeout_seconds * 2)
    if taken != "ok":
        return _link_refused(spec, connection_id, shown, taken)
    try:
        error, status = await _check_credentials(request, spec, settings)
    finally:
        async with request.app.state.db.connection() as conn:
            await connect_tokens.end_check(conn, token)
    if error:
        return _form(spec, connection_id, shown, error, status)

    async with request.app.state.db.connection() as conn, conn.transaction():
        row = await _pending_connection(conn, token, lock=True)  # still usable, and now ours
        config = {**(row["platform_config"] or {}), **settings.config()}
        await connecting.complete(conn, request.app.state.cipher, connection_id, spec.name, config, settings.secrets())
        if not await inbox.has_unprocessed_connect(conn, connection_id):
            await inbox.record(conn, connection_id, inbox.CONNECT)
    log.info("connect page: %s completed", connection_id)
    return page("Store connected", f"<p>Your store is connected to SparkLayer site <strong>"
                 f"{html.escape(connection_id)}</strong>. The first full sync starts in a moment; you can close "
                 "this page.</p>")


async def _check_credentials(request: Request, spec: PlatformSpec, settings: ConnectSettings) -> tuple[str | None, int]:
    """One real query against the store."""
    try:
        await on_platform(request, spec, settings, lambda platform: platform.check_credentials())
    except Problem as busy:
        return busy.detail, busy.status
    except (InvalidCredentials, InvalidConfiguration) as exc:
        return sentence(str(exc)), 400
    except PlatformError:
        return (f"We could not reach your {spec.display_name} store with these settings. Check them and try "
                "again."), 502
    return None, 200


connect_page_routes = [
    Route("/connect/{token}", show_connect_form, methods=["GET"]),
    Route("/connect/{token}", submit_connect_form, methods=["POST"]),
]
