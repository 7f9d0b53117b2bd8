"""Every operation of the OpenAPI schema, fuzzed: no input gets a 5xx, and responses match the schema."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings

from briefqa.api.app import create_app
from briefqa.settings import Settings

pytestmark = pytest.mark.slow

# The schema is read at collection time, before any fixture exists, so the app starts without an
# index; `served` hands it the session's live index before the first request. (schemathesis's
# fixture-backed lazy schema does not run on pytest 9.) No admin token is set: the rebuild
# endpoint is fuzzed too, and answers 403 without touching the index.
APP: FastAPI = create_app(Settings(corpus=Path("corpus"), index=Path("unused-index")))
schema = schemathesis.openapi.from_dict(APP.openapi())
# A body over the limit is refused with 413 before it is read, whatever it holds: for a body that
# also breaks the schema (a 1000-character history entry is long enough), that is its rejection.
schema.config.checks.negative_data_rejection.expected_statuses.append("413")


@pytest.fixture(scope="module")
def served(live: Any) -> FastAPI:
    APP.state.live = live
    return APP


@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_input_gets_a_server_error(case: Any, served: FastAPI) -> None:
    response = case.call_and_validate(app=served, base_url="http://testserver")
    assert response.status_code < 500
