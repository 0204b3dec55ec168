"""What a simulated endpoint receives (one authenticated call on one site) and how it refuses one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from starlette.responses import Response

from ignite_etl.problem import problem
from ignite_etl.sandbox.sparklayer.schemas import parse, problems_of
from ignite_etl.sandbox.sparklayer.state import SiteState


@dataclass
class Call:
    site: SiteState
    path_params: dict[str, str]
    query: dict[str, str]
    raw_body: bytes
    now: datetime
    rejected_records: dict[str, str]

    def body(self, schema: Any) -> Any:
        """The body validated against `schema`, or a 400 problem naming every field at fault."""
        if not self.raw_body:
            raise Refused(problem(400, "The request needs a JSON body."))
        try:
            return parse(schema, self.raw_body)
        except ValidationError as exc:
            raise Refused(problem(400, "The request body is invalid.", errors=problems_of(exc))) from None


class Refused(Exception):
    """Raised by an endpoint to answer with `response` instead of going on."""

    def __init__(self, response: Response):
        super().__init__(response.status_code)
        self.response = response


def refuse(status: int, detail: str, *, code: str | None = None, prop: str | None = None) -> Refused:
    errors = [{"code": code or "invalid", "message": detail, "property": prop or ""}] if code or prop else None
    return Refused(problem(status, detail, errors=errors))
