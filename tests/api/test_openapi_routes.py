"""docs/openapi.yaml documents every HTTP route the app serves, and nothing else; it is valid OpenAPI 3.0."""

from __future__ import annotations

import functools
import json
import subprocess
import sys
from typing import Any

import yaml
from openapi_spec_validator import validate

from localrun.processes import REPO_ROOT

SPEC = REPO_ROOT / "docs" / "openapi.yaml"
HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}


def spec() -> dict[str, Any]:
    return dict(yaml.safe_load(SPEC.read_text(encoding="utf-8")))


@functools.cache
def served_routes() -> frozenset[tuple[str, str]]:
    """(METHOD, /route) of every HTTP trigger, from the app's own function bindings.

    Indexed in a child process, as the Functions worker does: importing the app here would import aiohttp into
    the test process and pin its TLS trust store before other suites point it at their emulator's CA."""
    done = subprocess.run(
        [sys.executable, "-c", _INDEX], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60, check=True
    )
    return frozenset((method.upper(), "/" + route.strip("/")) for method, route in json.loads(done.stdout))


_INDEX = """
import json
import function_app
print(json.dumps([
    [str(getattr(method, "value", method)), binding.route]
    for function in function_app.app.get_functions()
    for binding in function.get_bindings() if binding.type == "httpTrigger"
    for method in (getattr(binding, "methods", None) or ["GET", "POST"])
]))
"""


def documented_routes(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (method.upper(), path) for path, item in document["paths"].items() for method in item if method in HTTP_METHODS
    }


def test_every_served_route_is_documented_and_vice_versa() -> None:
    document = spec()
    served, documented = served_routes(), documented_routes(document)
    assert served - documented == set(), "served but not documented"
    assert documented - served == set(), "documented but not served"
    assert document["servers"] == [{"url": "/api"}]  # the host's default routePrefix


def test_the_document_is_valid_openapi() -> None:
    validate(spec())


def test_every_operation_documents_its_errors_as_problem_details() -> None:
    document = spec()
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            codes = set(operation["responses"])
            assert ("401" in codes) is (operation.get("security") != []), (method, path)  # anonymous: no 401
            for code in codes - {"401"}:
                if code.startswith("4"):
                    response = operation["responses"][code]
                    if "$ref" in response:
                        response = document["components"]["responses"][response["$ref"].rsplit("/", 1)[-1]]
                    assert "application/problem+json" in response["content"], (method, path, code)


def test_the_checker_sees_routes() -> None:
    """Guards against a comparison of two empty sets."""
    assert ("POST", "/batches") in served_routes()
    assert ("GET", "/migrations/{id}") in documented_routes(spec())
    assert ("GET", "/console/{asset}") in served_routes()
