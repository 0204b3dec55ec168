"""What a Marketplacer connection needs from the merchant: the instance's GraphQL URL, an Operator API key and
the store's base currency (Marketplacer reports none). Checked here once, for the connect call, the connect page
and the adapter alike."""

from __future__ import annotations

import re

from pydantic import Field, field_validator, model_validator

from ignite_etl.platforms.base import ConnectSettings, FormField, SettingProblem

MAX_TEXT = 2000
_URL = re.compile(r"^https?://[^\s/]+")
_CURRENCY = re.compile(r"^[A-Z]{3}$")


class MarketplacerSettings(ConnectSettings):
    required = ("marketplacer_api_url", "marketplacer_api_key", "currency")
    secret = frozenset({"marketplacer_api_key"})

    marketplacer_api_url: str | None = Field(default=None, max_length=MAX_TEXT)
    marketplacer_api_key: str | None = Field(default=None, max_length=MAX_TEXT, repr=False)
    currency: str | None = None

    @field_validator("marketplacer_api_url")
    @classmethod
    def _api_url(cls, value: str | None) -> str | None:
        if value is not None and not _URL.match(value):
            raise SettingProblem("the Marketplacer API URL must be an http(s) URL, e.g. "
                                 "https://yourstore.marketplacer.com/graphql")
        return value

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.upper()
        if not _CURRENCY.match(value):
            raise SettingProblem("the base currency must be a three-letter ISO 4217 code, e.g. AUD")
        return value

    @model_validator(mode="after")
    def _currency_with_credentials(self) -> MarketplacerSettings:
        if self.marketplacer_api_url and self.marketplacer_api_key and not self.currency:
            raise SettingProblem("Marketplacer does not report a base currency: give the store's ISO 4217 code, "
                                 "e.g. AUD", field="currency")
        return self


FORM_FIELDS = (
    FormField("marketplacer_api_url", "Marketplacer API URL", placeholder="https://yourstore.marketplacer.com/graphql",
              max_length=MAX_TEXT),
    FormField("marketplacer_api_key", "Operator API key", secret=True, max_length=MAX_TEXT),
    FormField("currency", "Base currency (ISO 4217)", placeholder="AUD", max_length=3),
)
CONNECT_HELP = ("Create an Operator API key in Marketplacer (Configuration, API keys) and enter it with your "
                "store's API URL, which ends in /graphql.")
