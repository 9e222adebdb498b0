"""Property-based fuzzing of the public API against its own OpenAPI description.

A bounded run (a few examples per operation, no deadline): no answer may be a
5xx, and every answer must match the status codes, content types, headers and
schemas that ``/openapi.json`` promises.
"""

from __future__ import annotations

import os
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import checks

from widget_server.intake import sites

CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.response_headers_conformance,
]
# Per operation; raise it locally (PHANHOI_FUZZ_EXAMPLES=500) for a deeper search.
EXAMPLES = int(os.environ.get("PHANHOI_FUZZ_EXAMPLES", "12"))


def test_api_conforms_to_openapi(app: Any) -> None:
    _site, secret = sites.create_site("Báo Fuzz", ["https://fuzz.example"], site_key="pk_fuzz")
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 8
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def run(case: Any) -> None:
            headers = {}
            if case.path == "/api/v1/submissions":
                # Most of the intake sits behind authentication: let the fuzzer in.
                headers["Authorization"] = f"Bearer {secret}"
            if case.path_parameters and "site_key" in case.path_parameters:
                case.path_parameters["site_key"] = "pk_fuzz"
            case.call_and_validate(headers=headers, checks=CHECKS)

        run()
