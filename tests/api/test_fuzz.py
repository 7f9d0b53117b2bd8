"""Every operation of the OpenAPI schema, fuzzed: no input gets a 5xx, and responses match the schema."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis.checks import negative_data_rejection

from briefqa.api.app import create_app
from briefqa.settings import Settings

pytestmark = pytest.mark.slow

# The schema is read at collection time, before any fixture exists, so the app starts without an
# index; `served` hands it the session's live index before the first request. (schemathesis's
# fixture-backed lazy schema does not run on pytest 9.) No admin token is set: the rebuild
# endpoint is fuzzed too, and answers 403 without touching the index.
# A secret of its own: the app signs thread references, and would otherwise keep a key in that folder.
APP: FastAPI = create_app(Settings(corpus=Path("corpus"), index=Path("unused-index"), secret="fuzzing"))
schema = schemathesis.openapi.from_dict(APP.openapi())
# A body over the limit is refused with 413 before it is read, whatever it holds: for a body that
# also breaks the schema (a 1000-character history entry is long enough), that is its rejection.
schema.config.checks.negative_data_rejection.expected_statuses.append("413")
# A query string carries no types: "q=true" is the one-item list ["true"] to any server, so what
# schemathesis generates as a boolean for an array-typed query parameter is valid data once sent,
# and accepting it is right. Those operations keep every other check (no 5xx, the response's schema).
ARRAY_QUERY = {
    f"{method.upper()} {path}"
    for path, methods in APP.openapi()["paths"].items()
    for method, operation in methods.items()
    if any(
        p.get("in") == "query"
        and any(s.get("type") == "array" for s in [p.get("schema", {}), *p.get("schema", {}).get("anyOf", [])])
        for p in operation.get("parameters", [])
    )
}


@pytest.fixture(scope="module")
def served(live: Any) -> FastAPI:
    APP.state.live = live
    return APP


@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_input_gets_a_server_error(case: Any, served: FastAPI) -> None:
    label = f"{case.operation.method.upper()} {case.operation.path}"
    excluded = [negative_data_rejection] if label in ARRAY_QUERY else None
    response = case.call_and_validate(app=served, base_url="http://testserver", excluded_checks=excluded)
    assert response.status_code < 500


def test_the_operations_with_array_query_parameters_are_known() -> None:
    """The exclusion above must name real operations, or it would silently cover nothing."""
    assert "GET /api/transcript" in ARRAY_QUERY
