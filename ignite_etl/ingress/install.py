"""The platform-initiated connection flow (platform-connection seed, first flow), for platforms with an app
store: install → the platform's authorisation → our callback → the merchant registers with SparkLayer →
SparkLayer connects the new site to the store → onboarding.

    GET  /install/{platform}            the platform opens it: we send the merchant to authorise the app (or,
                                        when the platform installed it itself, exchange its proof at once)
    GET  /install/{platform}/callback   the platform sends them back: signature and `state` checked, the
                                        store's settings stored (secret ones encrypted)
    GET  /app/{token}/register          the registration page; POST registers through the Dashboard API and
                                        asks SparkLayer to connect the site, which calls our connect endpoint
    GET  /app/{token}/onboarding        SparkLayer's onboarding steps and links, while the first sync runs

Every step can be reloaded, gone back to or repeated: a store has one installation, a registration is made
once (and retried under one idempotency key), and SparkLayer's connect call is idempotent.
"""

from __future__ import annotations

import hashlib
import html
import logging
import re
import secrets
from collections.abc import Mapping
from urllib.parse import parse_qs

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from ignite_etl.ingress.http import read_body
from ignite_etl.ingress.pages import message_page, page, sentence
from ignite_etl.platforms import (
    InstallFlow,
    InstallRefused,
    InvalidConfiguration,
    PlatformError,
    PlatformSpec,
    platform_spec,
)
from ignite_etl.sparklayer.dashboard import (
    DashboardClient,
    DashboardRefused,
    DashboardUnavailable,
    OnboardingStep,
    Registration,
)
from ignite_etl.store import installations
from ignite_etl.store.connections import connection_id_for, site_of
from ignite_etl.store.installations import Installation

log = logging.getLogger(__name__)

SPARKLAYER_DOCS_URL = "https://docs.sparklayer.io"
SPARKLAYER_DASHBOARD_URL = "https://app.sparklayer.io"
MIN_PASSWORD, MAX_TEXT = 8, 255
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
REGISTRATION_FIELDS = (("name", "Your name", "text", "name"), ("email", "Email", "email", "email"),
                       ("company", "Company", "text", "organization"),
                       ("password", "Password", "password", "new-password"))


class PageError(Exception):
    """Stop and show the merchant a page saying what happened and what to do."""

    def __init__(self, status: int, title: str, message: str):
        super().__init__(message)
        self.status, self.title, self.message = status, title, message


def _start_again(spec_name: str | None = None) -> str:
    where = "your store's admin" if spec_name is None else f"your {spec_name} admin"
    return f"Open the SparkLayer app from {where} again to start over."


# ---- install and callback -----------------------------------------------------------------------------

def _install_spec(request: Request) -> tuple[PlatformSpec, InstallFlow]:
    try:
        spec = platform_spec(request.path_params["platform"])
    except InvalidConfiguration:
        spec = None
    if spec is None or spec.install is None:
        raise PageError(404, "Unknown app", "There is no SparkLayer app for this platform.")
    ingress = request.app.state.config
    try:
        flow = spec.install(ingress.platform_apps.get(spec.name, {}), timeout=ingress.platform_timeout_seconds)
    except InvalidConfiguration as exc:
        log.error("install %s: the app is not configured: %s", spec.name, exc)
        raise PageError(503, "Not available yet", "The SparkLayer app cannot be installed right now; we have been "
                                                  "told. Try again later.") from None
    return spec, flow


def _callback_url(request: Request, spec: PlatformSpec) -> str:
    return f"{request.app.state.config.public_url}/install/{spec.name}/callback"


async def start_install(request: Request) -> Response:
    spec, flow = _install_spec(request)
    query = dict(request.query_params)
    try:
        proof = flow.managed(query)
    except InstallRefused as exc:
        raise PageError(400, "This install link does not work", f"{sentence(str(exc))} "
                        f"{_start_again(spec.display_name)}") from None
    if proof is not None:
        return await _managed_install(request, spec, flow, query, proof)
    state = secrets.token_urlsafe(32)
    try:
        start = flow.begin(query, state=state, callback_url=_callback_url(request, spec))
    except InstallRefused as exc:
        raise PageError(400, "This install link does not work", f"{sentence(str(exc))} "
                        f"{_start_again(spec.display_name)}") from None
    async with request.app.state.db.connection() as conn:
        await installations.save_state(conn, state, spec.name, start.store_id,
                                       ttl_seconds=request.app.state.config.install_state_ttl_seconds)
    log.info("install %s: store %s sent to authorise", spec.name, start.store_id)
    return RedirectResponse(start.authorize_url, status_code=302, headers={"Cache-Control": "no-store"})


async def install_callback(request: Request) -> Response:
    spec, flow = _install_spec(request)
    query = dict(request.query_params)
    try:
        store_id = flow.verify_callback(query)
    except InstallRefused as exc:
        raise PageError(400, "This install did not come from your store",
                        f"{sentence(str(exc))} {_start_again(spec.display_name)}") from None
    state = query.get("state") or ""
    async with request.app.state.db.connection() as conn:
        known = await installations.state_for(conn, state, spec.name)
    if known is None or known["store_id"] != store_id:
        raise PageError(400, "This install link has expired",
                        f"The install took too long or was not started here. {_start_again(spec.display_name)}")
    settings, refused = None, None
    if not known["used"]:
        try:
            settings = await run_in_threadpool(flow.exchange, query, callback_url=_callback_url(request, spec))
        except InstallRefused as exc:
            # A reload racing the first callback finds the code spent; the first one stored the store.
            refused = PageError(400, "The install was refused", f"{sentence(str(exc))} {_start_again(spec.display_name)}")
        except PlatformError:
            raise PageError(502, "Your store did not answer",
                            f"We could not reach your {spec.display_name} store to finish the install. Reload this "
                            "page to try again.") from None
    async with request.app.state.db.connection() as conn, conn.transaction():
        known = await installations.state_for(conn, state, spec.name, lock=True)
        if known is None:
            raise PageError(400, "This install link has expired", _start_again(spec.display_name))
        if known["used"]:
            installation_id = await installations.find(conn, spec.name, store_id)
        elif settings is None:
            raise refused or PageError(400, "The install was refused", _start_again(spec.display_name))
        else:
            installation_id = await installations.save(conn, request.app.state.cipher, spec.name, store_id,
                                                       settings.config(), settings.secrets())
            await installations.use_state(conn, state)
            log.info("install %s: store %s installed", spec.name, store_id)
        if installation_id is None:
            raise PageError(400, "This install link has expired", _start_again(spec.display_name))
        token = await installations.issue_page_token(
            conn, installation_id, ttl_seconds=request.app.state.config.install_page_ttl_seconds)
    return _see(f"/app/{token}/register")


async def _managed_install(request: Request, spec: PlatformSpec, flow: InstallFlow, query: dict[str, str],
                           proof: str) -> Response:
    """The platform installed the app itself and the request proves it: spend the proof (it works once), get
    the store's credentials for it, and go on to registration as after a callback."""
    store_id = flow.verify_callback(query)
    config = request.app.state.config
    async with request.app.state.db.connection() as conn:
        fresh = await installations.claim_proof(conn, proof, spec.name, store_id,
                                                ttl_seconds=config.install_state_ttl_seconds)
    if not fresh:
        raise PageError(400, "This install link has been used", f"It works once. {_start_again(spec.display_name)}")
    try:
        settings = await run_in_threadpool(flow.exchange, query, callback_url=_callback_url(request, spec))
    except InstallRefused as exc:
        raise PageError(400, "The install was refused", f"{sentence(str(exc))} {_start_again(spec.display_name)}") from None
    except PlatformError:
        raise PageError(502, "Your store did not answer", f"We could not reach your {spec.display_name} store to "
                        f"finish the install. {_start_again(spec.display_name)}") from None
    async with request.app.state.db.connection() as conn, conn.transaction():
        installation_id = await installations.save(conn, request.app.state.cipher, spec.name, store_id,
                                                   settings.config(), settings.secrets())
        token = await installations.issue_page_token(conn, installation_id,
                                                     ttl_seconds=config.install_page_ttl_seconds)
    log.info("install %s: store %s installed by the platform", spec.name, store_id)
    return _see(f"/app/{token}/register")


def _see(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303, headers={"Cache-Control": "no-store"})


# ---- registration -------------------------------------------------------------------------------------

async def _installation(request: Request, *, lock: bool = False) -> Installation:
    async with request.app.state.db.connection() as conn:
        installation = await installations.by_page_token(conn, request.path_params["token"], lock=lock)
    if installation is None:
        raise PageError(404, "This link has expired", f"This page's link is unknown or expired. {_start_again()}")
    return installation


def _registration_form(spec: PlatformSpec, installation: Installation, values: Mapping[str, str],
                       errors: Mapping[str, str] | None = None, status: int = 200) -> Response:
    errors = errors or {}
    general = errors.get("")
    inputs = []
    for name, label, kind, autocomplete in REGISTRATION_FIELDS:
        value = "" if kind == "password" else html.escape(values.get(name, ""))
        limit = f' minlength="{MIN_PASSWORD}"' if kind == "password" else ""
        error = (f' aria-invalid="true" aria-describedby="{name}-error"></label>\n'
                 f'<p class="error" id="{name}-error">{html.escape(errors[name])}</p>') if name in errors else "></label>"
        inputs.append(f'<label>{label} <input name="{name}" type="{kind}" autocomplete="{autocomplete}" required '
                      f'maxlength="{MAX_TEXT}"{limit} value="{value}"{error}\n')
    content = (f"<p>SparkLayer is installed on your {html.escape(spec.display_name)} store <strong>"
               f"{html.escape(installation.store_id)}</strong>. Create your SparkLayer account and we connect the "
               "store to it and start the first sync.</p>\n"
               + (f'<p class="error" role="alert">{html.escape(general)}</p>\n' if general else "")
               + f'<form method="post">\n{"".join(inputs)}<button type="submit">Create account</button>\n</form>')
    return page("Create your SparkLayer account", content, status)


def _registration_problems(values: Mapping[str, str]) -> dict[str, str]:
    problems = {}
    for name, label, *_ in REGISTRATION_FIELDS:
        value = values.get(name, "")
        if not value.strip():
            problems[name] = f"Enter {label.lower()}."
        elif len(value) > MAX_TEXT:
            problems[name] = f"{label} is longer than {MAX_TEXT} characters."
    if "email" not in problems and not _EMAIL.match(values["email"]):
        problems["email"] = "Enter an email address such as name@company.com."
    if "password" not in problems and len(values["password"]) < MIN_PASSWORD:
        problems["password"] = f"Choose a password of at least {MIN_PASSWORD} characters."
    return problems


async def show_registration(request: Request) -> Response:
    installation = await _installation(request)
    if installation.connection_id:
        return _see(f"/app/{request.path_params['token']}/onboarding")
    return _registration_form(platform_spec(installation.platform), installation, {})


async def submit_registration(request: Request) -> Response:
    token = request.path_params["token"]
    form = parse_qs((await read_body(request)).decode("utf-8", "replace"), keep_blank_values=True)
    values = {name: (form.get(name) or [""])[-1] for name, *_ in REGISTRATION_FIELDS}
    values = {name: value if name == "password" else value.strip() for name, value in values.items()}
    installation = await _installation(request)
    if installation.connection_id:  # registered already: a resubmitted form, a second tab
        return _see(f"/app/{token}/onboarding")
    spec = platform_spec(installation.platform)
    problems = _registration_problems(values)
    if problems:
        return _registration_form(spec, installation, values, problems, 400)

    registration = Registration(name=values["name"], email=values["email"], company=values["company"],
                                password=values["password"], platform=spec.name, store_id=installation.store_id)
    try:
        async with _dashboard(request) as dashboard:
            site = await dashboard.register(registration, idempotency_key=_registration_key(installation, values["email"]))
    except DashboardRefused as exc:
        if exc.status == 409:
            return _registration_form(spec, installation, values, {
                "email": f"SparkLayer already has an account for {values['email']}. Register with another email, or "
                         "sign in to your SparkLayer dashboard and connect this store under Configuration → "
                         "Integrations."}, 409)
        if exc.status in (400, 422) and exc.problems:
            fields = {str(p.get("property") or ""): sentence(str(p.get("message") or "is not accepted"))
                      for p in exc.problems}
            return _registration_form(spec, installation, values, fields, 400)
        log.error("install %s: the Dashboard API refused registration: HTTP %d", spec.name, exc.status)
        raise PageError(502, "We could not register you", "SparkLayer refused the registration for a reason on our "
                                                          "side; we have been told. Try again later.") from None
    except DashboardUnavailable:
        return _registration_form(spec, installation, values, {
            "": "SparkLayer did not answer. Nothing was created; try again in a minute."}, 503)

    connection_id = connection_id_for(site.site_env, site.site_id)
    async with request.app.state.db.connection() as conn, conn.transaction():
        current = await installations.by_page_token(conn, token, lock=True)
        if current is not None and not current.connection_id:
            await installations.register(conn, installation.id, connection_id=connection_id, email=values["email"],
                                         dashboard_url=site.dashboard_url)
    log.info("install %s: store %s registered as site %s", spec.name, installation.store_id, connection_id)
    await _request_connection(request, installation.id, spec.name, installation.store_id, connection_id)
    return _see(f"/app/{token}/onboarding")


def _registration_key(installation: Installation, email: str) -> str:
    """One key per (installation, email): a retry of the same registration, never of another one."""
    return "ignite-install-" + hashlib.sha256(f"{installation.id}:{email.lower()}".encode()).hexdigest()[:40]


def _dashboard(request: Request) -> DashboardClient:
    ingress = request.app.state.config
    if not ingress.dashboard_token:
        log.error("install: SPARKLAYER_DASHBOARD_TOKEN is not set; merchants cannot register")
        raise PageError(503, "Not available yet", "Registration with SparkLayer is not available right now; we have "
                                                  "been told. Try again later.")
    return DashboardClient(ingress.dashboard_url, ingress.dashboard_token, timeout=ingress.platform_timeout_seconds)


async def _request_connection(request: Request, installation_id: int, platform: str, store_id: str,
                              connection_id: str) -> None:
    """Ask SparkLayer to connect the site to the store; a failure is retried by the onboarding page."""
    site_env, site_id = site_of(connection_id)
    try:
        async with _dashboard(request) as dashboard:
            await dashboard.create_platform_connection(site_env, site_id, platform=platform, store_id=store_id)
    except (DashboardRefused, DashboardUnavailable) as exc:
        log.warning("install %s: asking SparkLayer to connect %s failed: %s", platform, connection_id, exc)
        return
    async with request.app.state.db.connection() as conn:
        await installations.connect_requested(conn, installation_id)


# ---- onboarding ---------------------------------------------------------------------------------------

async def show_onboarding(request: Request) -> Response:
    token = request.path_params["token"]
    installation = await _installation(request)
    if not installation.connection_id:
        return _see(f"/app/{token}/register")
    spec = platform_spec(installation.platform)
    connection_id = installation.connection_id
    async with request.app.state.db.connection() as conn:
        progress = await installations.progress(conn, connection_id)
    ingress = request.app.state.config
    waited = installation.connect_requested_seconds_ago
    if progress.status is None and (waited is None or waited > ingress.reconnect_after_seconds):
        await _request_connection(request, installation.id, spec.name, installation.store_id, connection_id)

    steps: list[OnboardingStep] | None
    try:
        async with _dashboard(request) as dashboard:
            steps = await dashboard.onboarding_steps(*site_of(connection_id))
    except (DashboardRefused, DashboardUnavailable) as exc:
        log.warning("install %s: onboarding steps of %s: %s", spec.name, connection_id, exc)
        steps = None

    if progress.status == "connected" and progress.first_sync_done:
        status = (f"Your {html.escape(spec.display_name)} store is connected and its products are in SparkLayer. "
                  "Finish setting up your B2B store with the steps below.")
    elif progress.status == "connected":
        status = (f"Your {html.escape(spec.display_name)} store is connected. The first sync of its products is "
                  "running; this page updates itself.")
    else:
        status = f"Connecting your {html.escape(spec.display_name)} store to SparkLayer; this page updates itself."
    listed = ("".join(
        f'<li class="{"done" if step.completed else "todo"}">{"✓" if step.completed else "○"} '
        + (f'<a href="{html.escape(step.url)}">{html.escape(step.title)}</a>' if step.url else html.escape(step.title))
        + (" (done)" if step.completed else "") + "</li>\n" for step in steps)
        if steps else "")
    steps_html = (f'<h2>Your next steps</h2>\n<ol class="steps">\n{listed}</ol>\n' if steps
                  else "<p>SparkLayer's onboarding steps could not be loaded just now; reload this page in a minute.</p>\n")
    dashboard_url = installation.dashboard_url or SPARKLAYER_DASHBOARD_URL
    content = (f'<p role="status">{status}</p>\n{steps_html}'
               f'<p><a href="{html.escape(dashboard_url)}">Open your SparkLayer dashboard</a> · '
               f'<a href="{SPARKLAYER_DOCS_URL}">Read the SparkLayer documentation</a></p>\n'
               f"<p>Signed up as {html.escape(installation.registered_email or '')}; SparkLayer site "
               f"<strong>{html.escape(connection_id)}</strong>.</p>")
    settled = progress.status == "connected" and progress.first_sync_done
    return page("Welcome to SparkLayer", content, refresh_seconds=None if settled else 5)


async def _page_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PageError)
    return message_page(exc.title, exc.message, exc.status)


install_routes = [
    Route("/install/{platform}", start_install, methods=["GET"]),
    Route("/install/{platform}/callback", install_callback, methods=["GET"]),
    Route("/app/{token}/register", show_registration, methods=["GET"]),
    Route("/app/{token}/register", submit_registration, methods=["POST"]),
    Route("/app/{token}/onboarding", show_onboarding, methods=["GET"]),
]
install_exception_handlers = {PageError: _page_error}
