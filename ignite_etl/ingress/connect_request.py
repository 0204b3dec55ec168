"""The body of SparkLayer's new-platform-connection call, checked field by field.

The platform's own settings (`extra_config`) are validated by its registered settings model, which also
says which of them are secret: only those are encrypted, and neither reaches a log.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ignite_etl.ingress.http import Problem, field_error
from ignite_etl.platforms import ConnectSettings, InvalidConfiguration, InvalidSettings, platform_spec, platform_specs

MAX_TEXT = 2000


@dataclass(frozen=True)
class ConnectRequest:
    store_id: str | None
    client_id: str
    client_secret: str = field(repr=False)
    platform: str = ""
    settings: ConnectSettings | None = None

    @property
    def sparklayer_credentials(self) -> dict[str, str]:
        return {"client_id": self.client_id, "client_secret": self.client_secret}

    @property
    def complete(self) -> bool:
        """The platform's settings are all there: the connection completes without the connect page."""
        return bool(self.settings and self.settings.complete)


def parse_connect_request(body: dict[str, Any]) -> ConnectRequest:
    errors: list[dict] = []
    client_id = _text(body, "spark_api_client_id", errors, required=True)
    client_secret = _text(body, "spark_api_client_secret", errors, required=True)
    store_id = body.get("store_id")
    if isinstance(store_id, int) and not isinstance(store_id, bool):
        store_id = str(store_id)
    if store_id is not None and (not isinstance(store_id, str) or len(store_id) > MAX_TEXT):
        errors.append(field_error("store_id", "store_id must be a string or null", "invalid_type"))
        store_id = None
    extra = body.get("extra_config")
    if extra is None:
        extra = {}
    if not isinstance(extra, dict):
        errors.append(field_error("extra_config", "extra_config must be an object", "invalid_type"))
        extra = {}
    platform, settings = _platform_settings(extra, errors)
    if errors:
        raise Problem(400, "The connection request has invalid fields; nothing was changed.", errors=errors)
    return ConnectRequest(store_id or None, client_id or "", client_secret or "", platform, settings)


def _platform_settings(extra: dict[str, Any], errors: list[dict]) -> tuple[str, ConnectSettings | None]:
    """The platform `extra_config.platform` names and its settings. A call that names none is for the one
    platform whose settings its `extra_config` holds (or the only one served); with nothing to tell, the
    platform is "" and the connect page lets the merchant choose."""
    specs = list(platform_specs())
    known = [spec.name for spec in specs]
    name = _text(extra, "platform", errors, prefix="extra_config.")
    if name is None:
        given = set(extra) - {"platform"}
        holding = [spec.name for spec in specs if given & set(spec.settings.model_fields)]
        candidates = holding or known
        if len(candidates) == 1:
            name = candidates[0]
        elif not holding and not errors:
            return "", None  # the merchant chooses the platform on the connect page
    try:
        spec = platform_spec(name)
    except InvalidConfiguration:
        if name is not None or not errors:
            errors.append(field_error("extra_config.platform", f"platform must be one of {', '.join(known)}",
                                      "unsupported" if name else "required"))
        return (name or "").strip().lower(), None
    try:
        settings = spec.settings.parse({k: v for k, v in extra.items() if k != "platform"})
    except InvalidSettings as exc:
        errors.extend(field_error(f"extra_config.{name}", message) for name, message in exc.problems.items())
        return spec.name, None
    return spec.name, settings


def _text(source: dict, name: str, errors: list[dict], *, required: bool = False, prefix: str = "") -> str | None:
    value = source.get(name)
    if value is None or value == "":
        if required:
            errors.append(field_error(prefix + name, f"{name} is required", "required"))
        return None
    if not isinstance(value, str):
        errors.append(field_error(prefix + name, f"{name} must be a string", "invalid_type"))
        return None
    if len(value) > MAX_TEXT:
        errors.append(field_error(prefix + name, f"{name} is longer than {MAX_TEXT} characters", "too_long"))
        return None
    return value
