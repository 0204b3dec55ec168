"""What a Shopify connection holds: the shop's myshopify.com domain and its Admin API access token (an expiring
offline token with its refresh token when the app was installed from Shopify, or a custom app's token the
merchant pasted), plus where the Admin API is reached. Checked here once, for every path."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from pydantic import Field, field_validator

from ignite_etl.platforms.base import ConnectSettings, FormField, SettingProblem

MAX_TEXT = 2000
SHOP_DOMAIN = re.compile(r"^[a-z0-9][a-z0-9-]*\.myshopify\.com$")
"""Shopify's own check (`shop-validator.ts`) accepts more hosts; a production shop is only ever this form."""


def shop_domain(value: str) -> str | None:
    """`Bobs.MyShopify.com/` or `https://bobs.myshopify.com` -> `bobs.myshopify.com`; None when it is not one."""
    text = value.strip().lower()
    if "://" in text:
        text = urlsplit(text).hostname or ""
    text = text.rstrip("/")
    return text if SHOP_DOMAIN.match(text) else None


class ShopifySettings(ConnectSettings):
    required = ("shop", "access_token")
    secret = frozenset({"access_token", "refresh_token", "access_token_expires_at"})

    shop: str | None = Field(default=None, max_length=255)
    admin_url: str | None = Field(default=None, max_length=MAX_TEXT)
    """Where the shop's Admin API is (`https://{shop}`); only a development app points it elsewhere."""
    access_token: str | None = Field(default=None, max_length=MAX_TEXT, repr=False)
    refresh_token: str | None = Field(default=None, max_length=MAX_TEXT, repr=False)
    access_token_expires_at: str | None = Field(default=None, max_length=40)
    """When the access token expires, Unix seconds; unset for a token that does not expire."""

    @field_validator("shop")
    @classmethod
    def _shop(cls, value: str | None) -> str | None:
        if value is None:
            return None
        domain = shop_domain(value)
        if domain is None:
            raise SettingProblem("the shop must be its myshopify.com domain, e.g. yourstore.myshopify.com")
        return domain

    @field_validator("admin_url")
    @classmethod
    def _admin_url(cls, value: str | None) -> str | None:
        if value is not None and urlsplit(value).scheme not in ("http", "https"):
            raise SettingProblem("the Shopify admin URL must be an http(s) URL")
        return value.rstrip("/") if value else value

    @field_validator("access_token_expires_at")
    @classmethod
    def _expires(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"\d{1,12}(\.\d+)?", str(value)):
            raise SettingProblem("the token's expiry must be Unix seconds")
        return value

    @property
    def api_base(self) -> str:
        return self.admin_url or f"https://{self.shop}"


FORM_FIELDS = (
    FormField("shop", "Shop domain", placeholder="yourstore.myshopify.com", max_length=255),
    FormField("access_token", "Admin API access token (custom app)", secret=True, max_length=MAX_TEXT),
)
CONNECT_HELP = ("Install the SparkLayer app from the Shopify App Store, or create a custom app in Shopify (Settings, "
                "Apps and sales channels, Develop apps) with read_products and read_inventory, and enter its Admin API "
                "access token with your shop's myshopify.com domain.")
