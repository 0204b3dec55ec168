"""The ingress against the OpenAPI description it serves, with schemathesis generating requests (valid and
not) for every operation: never a 500, every status and content type documented, every JSON answer in its
documented shape. Runs against the ingress on real HTTP with a connected store behind the paths."""

from __future__ import annotations

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from ignite_etl.ingress.openapi import document

from .conftest import INGRESS_TOKEN

schema = schemathesis.openapi.from_dict(document())


def no_unexpected_failure(ctx, response, case) -> None:
    """A 500 is the ingress failing; 501-503 are answers it means (a platform without customers, a store or
    the database not answering), documented per operation."""
    assert response.status_code != 500, f"{case.method} {case.path} failed with 500: {response.text[:300]}"


CHECKS = [no_unexpected_failure, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def seeded(ingress_server, migrated_database_url):
    """A connected store at test-bobs-store, so generated calls reach past the lookups."""
    answer = httpx.post(f"{ingress_server.url}/v1/test/bobs-store", headers={"Authorization": f"Bearer {INGRESS_TOKEN}"},
                        json={"spark_api_client_id": "c", "spark_api_client_secret": "s",
                              "extra_config": {"currency": "AUD"}})
    assert answer.status_code == 200
    return ingress_server.url


def test_the_served_description_is_the_one_tested(ingress_server):
    served = httpx.get(f"{ingress_server.url}/openapi.json")

    assert served.status_code == 200 and served.json() == document()


@schema.parametrize()
@settings(max_examples=50, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_the_ingress_keeps_to_its_openapi_description(case, seeded):
    response = case.call(base_url=seeded, headers={"Authorization": f"Bearer {INGRESS_TOKEN}"})

    case.validate_response(response, checks=CHECKS)
