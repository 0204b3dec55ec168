"""The SparkLayer app's install from Shopify: the authorisation-code grant (shopify-api.md §4.2), with the
query-string HMAC (§4.4) and shop-domain check (§4.3) on both the install request and the callback, and an
expiring offline token (§4.2, SH-OFF) exchanged for the code.

Managed install (§4.1): Shopify installs the app itself and opens the app URL, embedded in the admin, with a
session token (`id_token`, an HS256 JWT signed with the client secret, SH-TE). That token, checked here and
used once, is exchanged for the same expiring offline token (token exchange), with no authorisation step.

App credentials (`IGNITE_APP_SHOPIFY_<KEY>`): `client_id`, `client_secret`, optionally `scopes` (comma
separated, default `DEFAULT_SCOPES`) and, for development only, `admin_url`: where every shop's
admin is served (the simulator), instead of `https://{shop}`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Mapping, Sequence
from urllib.parse import quote, urlencode

import httpx

from ignite_etl.platforms.base import (
    ConnectSettings,
    InstallFlow,
    InstallRefused,
    InstallStart,
    InvalidConfiguration,
    PlatformUnavailable,
)
from ignite_etl.platforms.shopify.client import token_grant
from ignite_etl.platforms.shopify.settings import ShopifySettings, shop_domain

DEFAULT_SCOPES = "read_products,read_inventory,write_customers,read_orders"
"""`write_customers` (it includes reading them): SparkLayer creates customers on the shop (Ignite's customers call)."""
MAX_CLOCK_SKEW_SECONDS = 90
"""Shopify's library refuses a signed request whose `timestamp` is further than this from now."""
SESSION_TOKEN_LEEWAY_SECONDS = 5
"""Clock difference allowed on a session token's `exp` and `nbf` (it lives one minute)."""
TOKEN_EXCHANGE = {
    "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
    "subject_token_type": "urn:ietf:params:oauth:token-type:id_token",
    "requested_token_type": "urn:shopify:params:oauth:token-type:offline-access-token",
}


def query_hmac(query: Mapping[str, str], secret: str) -> str:
    """Shopify's query-string signature: hex HMAC-SHA256 of the sorted `k=v&…` (without `hmac`, `signature`)."""
    message = "&".join(f"{k}={quote(str(v), safe='')}" for k, v in sorted(query.items())
                       if k not in ("hmac", "signature"))
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def app_proxy_signature(query: Mapping[str, Sequence[str]], secret: str) -> str:
    """The `signature` Shopify adds to a request it forwards through an app proxy: hex HMAC-SHA256 of the sorted
    `key=value` pairs (a repeated key's values joined by commas) joined with nothing, without `signature` and
    `hmac`."""
    message = "".join(f"{k}={','.join(v)}" for k, v in sorted(query.items()) if k not in ("hmac", "signature"))
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def _unpadded(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def session_token_claims(token: str, secret: str, *, client_id: str, now: float) -> dict:
    """The claims of a Shopify session token (§4.1): an HS256 JWT signed with the app's client secret, for
    this app (`aud`), current (`nbf`, `exp`). `InstallRefused` otherwise."""
    try:
        header_part, claims_part, signature_part = token.split(".")
        header, claims = json.loads(_unpadded(header_part)), json.loads(_unpadded(claims_part))
        signature = _unpadded(signature_part)
    except (ValueError, binascii.Error):
        raise InstallRefused("the session token is not a JWT") from None
    signed = hmac.new(secret.encode(), f"{header_part}.{claims_part}".encode(), hashlib.sha256).digest()
    if not isinstance(header, dict) or header.get("alg") != "HS256" or not hmac.compare_digest(signed, signature):
        raise InstallRefused("the session token is not signed by Shopify")
    if not isinstance(claims, dict) or claims.get("aud") != client_id:
        raise InstallRefused("the session token is for another app")
    try:
        current = (float(claims["nbf"]) - SESSION_TOKEN_LEEWAY_SECONDS <= now
                   < float(claims["exp"]) + SESSION_TOKEN_LEEWAY_SECONDS)
    except (KeyError, TypeError, ValueError):
        current = False
    if not current:
        raise InstallRefused("the session token has expired")
    return claims


class ShopifyInstall(InstallFlow):
    def __init__(self, app: Mapping[str, str], *, timeout: float = 15.0, clock=time.time, **_options):
        missing = [key for key in ("client_id", "client_secret") if not app.get(key)]
        if missing:
            raise InvalidConfiguration(f"set IGNITE_APP_SHOPIFY_{missing[0].upper()}")
        self.client_id, self.client_secret = app["client_id"], app["client_secret"]
        self.scopes = app.get("scopes") or DEFAULT_SCOPES
        self.admin_url = (app.get("admin_url") or "").rstrip("/") or None
        self.timeout = timeout
        self._clock = clock

    def _admin(self, shop: str) -> str:
        return self.admin_url or f"https://{shop}"

    def _verified_shop(self, query: Mapping[str, str]) -> str:
        given = query.get("hmac") or ""
        if not given or not hmac.compare_digest(given.encode(), query_hmac(query, self.client_secret).encode()):
            raise InstallRefused("the request is not signed by Shopify")
        try:
            skew = abs(self._clock() - int(query.get("timestamp") or ""))
        except ValueError:
            raise InstallRefused("the request has no valid timestamp") from None
        if skew > MAX_CLOCK_SKEW_SECONDS:
            raise InstallRefused("the link is too old")
        shop = shop_domain(query.get("shop") or "")
        if shop is None:
            raise InstallRefused("the request names no myshopify.com shop")
        return shop

    def begin(self, query: Mapping[str, str], *, state: str, callback_url: str) -> InstallStart:
        shop = self._verified_shop(query)
        target = urlencode({"client_id": self.client_id, "scope": self.scopes, "redirect_uri": callback_url,
                            "state": state, "grant_options[]": ""})
        return InstallStart(shop, f"{self._admin(shop)}/admin/oauth/authorize?{target}")

    def verify_callback(self, query: Mapping[str, str]) -> str:
        return self._verified_shop(query)

    def managed(self, query: Mapping[str, str]) -> str | None:
        token = query.get("id_token")
        if not token:
            return None
        shop = self._verified_shop(query)
        claims = session_token_claims(token, self.client_secret, client_id=self.client_id, now=self._clock())
        if claims.get("dest") != f"https://{shop}":
            raise InstallRefused("the session token is for another shop")
        if not claims.get("jti"):
            raise InstallRefused("the session token has no id")
        return str(claims["jti"])

    def exchange(self, query: Mapping[str, str], *, callback_url: str) -> ConnectSettings:
        shop = self._verified_shop(query)
        if query.get("id_token"):  # a managed install: the checked session token stands for the code
            grant, what = {**TOKEN_EXCHANGE, "subject_token": query["id_token"]}, "session token"
        else:
            grant, what = {"code": query.get("code", "")}, "authorisation code"
        try:
            answer = httpx.post(f"{self._admin(shop)}/admin/oauth/access_token", timeout=self.timeout,
                                follow_redirects=False, json={"client_id": self.client_id,
                                                              "client_secret": self.client_secret,
                                                              **grant, "expiring": "1"})
        except httpx.HTTPError as exc:
            raise PlatformUnavailable(f"Shopify did not answer the token exchange ({type(exc).__name__})") from None
        if answer.status_code in (400, 401, 403):
            raise InstallRefused(f"Shopify refused the {what}")
        if answer.status_code != 200:
            raise PlatformUnavailable(f"Shopify answered the token exchange with {answer.status_code}")
        tokens = token_grant(answer.json(), self._clock())
        return ShopifySettings.parse({"shop": shop, "admin_url": self.admin_url, **tokens.secrets()})
