"""Property-based fuzzing of the whole HTTP API (schemathesis) against a running devhost + emulator stack.

Every documented operation gets its examples, schema-coverage cases and random valid and invalid requests
(a bounded number each, derandomized so a failure reproduces). Checks: no 5xx, status codes, content types,
headers and response bodies as documented. Requests that pass validation do start real migrations, plans and
batches against the emulator: the examples name the seeded world.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from schemathesis.config import SchemathesisConfig

from localrun.stack import LocalStack
from tests.api.test_openapi_routes import SPEC

pytestmark = pytest.mark.e2e

MAX_EXAMPLES = 12
CONFIG: dict[str, Any] = {
    "generation": {"mode": "all", "max-examples": MAX_EXAMPLES, "deterministic": True},
    "phases": {"stateful": {"enabled": False}},
    "checks": {
        "enabled": False,
        "not_a_server_error": {"enabled": True},
        "status_code_conformance": {"enabled": True},
        "content_type_conformance": {"enabled": True},
        "response_headers_conformance": {"enabled": True},
        "response_schema_conformance": {"enabled": True},
    },
}

schema = schemathesis.openapi.from_path(SPEC, config=SchemathesisConfig.from_dict(CONFIG))


@schema.parametrize()
def test_no_request_yields_a_server_error(case: Any, api_stack: LocalStack) -> None:
    info = api_stack.host.info
    case.call_and_validate(
        base_url=f"{info['baseUrl']}/api", headers={"x-functions-key": str(info["functionKey"])}, timeout=30
    )
