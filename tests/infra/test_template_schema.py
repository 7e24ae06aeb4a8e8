"""The deployment template against Microsoft's published ARM template schemas, offline (third_party/arm-schemas)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.infra import arm_schemas
from tests.infra.arm_expressions import evaluate, is_expression
from tests.infra.template import (
    PARAMETERS_EXAMPLE_PATH,
    Located,
    context,
    context_of,
    iter_resources,
    iter_templates,
    load_template,
)

TEMPLATE = load_template()
RESOURCES = list(iter_resources(TEMPLATE))
TEMPLATES = list(iter_templates(TEMPLATE))


def _id(located: Any) -> str:
    return f"{located.path}:{located.resource.get('type')}"


# Types whose schema is a oneOf told apart only by the name's literal suffix (sites/config: appsettings,
# authsettingsV2, ...): an expression name matches every branch, so the name is checked as ARM will see it.
NAME_DISCRIMINATED = {"Microsoft.Web/sites/config"}


def as_deployed_name(located: Located) -> dict[str, Any]:
    resource = located.resource
    if resource["type"] not in NAME_DISCRIMINATED or not is_expression(resource["name"]):
        return resource
    return {**resource, "name": evaluate(resource["name"], context_of(located, context()))}


def with_deployed_names(template: dict[str, Any]) -> dict[str, Any]:
    return {**template, "resources": [as_deployed_name(r) for r in iter_resources(template) if r.parent is None]}


@pytest.mark.conformance
@pytest.mark.parametrize("located", RESOURCES, ids=_id)
def test_resource_matches_its_schema(located):
    assert arm_schemas.resource_errors(as_deployed_name(located)) == []


@pytest.mark.conformance
@pytest.mark.parametrize(("path", "template"), TEMPLATES, ids=[p for p, _ in TEMPLATES])
def test_template_matches_the_deployment_template_schema(path, template):
    """The whole template, and each nested template on its own (the nested ``template`` is free-form in the
    deployments schema). Nested subscription-scope templates are checked with the resource-group template schema:
    the subscription one is not vendored, and for the resource types used here the two accept the same."""
    if path == "$":
        template = {
            **template,
            "resources": [as_deployed_name(r) for r in iter_resources(template) if r.parent is None],
        }
    assert arm_schemas.template_errors(template) == []


@pytest.mark.conformance
@pytest.mark.parametrize("located", RESOURCES, ids=_id)
def test_resource_sets_only_declared_properties(located):
    assert arm_schemas.resource_undeclared(located.resource) == []


@pytest.mark.conformance
@pytest.mark.parametrize(("path", "template"), TEMPLATES, ids=[p for p, _ in TEMPLATES])
def test_template_sections_set_only_declared_properties(path, template):
    assert arm_schemas.template_undeclared(template) == []


@pytest.mark.conformance
def test_every_resource_uses_the_newest_api_version_the_schemas_cover():
    stale = {}
    for located in RESOURCES:
        rtype, version = located.resource["type"], located.resource["apiVersion"]
        newest = max(v for t, v in arm_schemas.resource_refs() if t == rtype)
        if version != newest:
            stale[located.path] = f"{rtype}@{version}, newest covered {newest}"
    assert stale == {}


@pytest.mark.conformance
def test_parameters_example_matches_the_parameters_schema_and_the_template():
    example = json.loads(PARAMETERS_EXAMPLE_PATH.read_text("utf-8"))
    assert arm_schemas.parameters_file_errors(example) == []
    assert set(example["parameters"]) <= set(TEMPLATE["parameters"])
    required = {name for name, spec in TEMPLATE["parameters"].items() if "defaultValue" not in spec}
    assert required <= set(example["parameters"])


# --- the checkers catch mistakes (each mutation is made on a fresh copy, in memory) ------------------------------

SITE = "Microsoft.Web/sites"
EVENT_SUBSCRIPTION = "Microsoft.EventGrid/systemTopics/eventSubscriptions"


def _only(template: dict[str, Any], rtype: str) -> dict[str, Any]:
    (found,) = [r.resource for r in iter_resources(template) if r.resource["type"] == rtype]
    return found


def _set(target: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    for part in parents:
        target = target[int(part)] if isinstance(target, list) else target[part]
    target[last] = value


@pytest.mark.parametrize(
    ("rtype", "path", "value", "problem"),
    [
        (
            SITE,
            "properties.httpsOnlyy",
            True,
            "$.properties.httpsOnlyy: 'httpsOnlyy' is not declared by the schema (declared: ",
        ),
        (SITE, "dependson", [], "$.dependson: 'dependson' is not declared by the schema (declared: "),
        (  # ``value`` belongs to BoolEquals/NumberGreaterThan; StringIn takes ``values``
            EVENT_SUBSCRIPTION,
            "properties.filter.advancedFilters.0.value",
            "x",
            "$.properties.filter.advancedFilters[0].value: 'value' is not declared by the schema "
            "(declared: key, operatorType, values)",
        ),
    ],
)
def test_a_misspelt_or_misplaced_key_is_reported_with_its_path(rtype, path, value, problem):
    template = load_template()
    resource = _only(template, rtype)
    _set(resource, path, value)
    (found,) = arm_schemas.resource_undeclared(resource)
    assert found.startswith(problem)
    assert arm_schemas.resource_errors(resource) == [], "the published schemas alone let it through"


def test_a_misspelt_parameter_keyword_is_reported():
    template = load_template()
    template["parameters"]["appName"]["defaultvalue"] = "x"
    (problem,) = arm_schemas.template_undeclared(template)
    assert problem.startswith("$.parameters.appName.defaultvalue: 'defaultvalue' is not declared by the schema")


@pytest.mark.parametrize(
    ("rtype", "path", "value", "problem"),
    [
        (
            SITE,
            "properties.functionAppConfig.runtime.name",
            "pyhton",
            "$.properties.functionAppConfig.runtime.name: 'pyhton' is not one of "
            "['dotnet-isolated', 'node', 'java', 'powershell', 'python', 'custom'] (or an ARM expression '[...]')",
        ),
        (
            SITE,
            "properties.functionAppConfig.scaleAndConcurrency.instanceMemoryMB",
            "2048",
            "$.properties.functionAppConfig.scaleAndConcurrency.instanceMemoryMB: '2048' is not of type 'integer' "
            "(or an ARM expression '[...]')",
        ),
        (  # a union told apart by endpointType: the message is about that key, not a guessed variant
            EVENT_SUBSCRIPTION,
            "properties.destination.endpointType",
            "AzureFunctions",
            "$.properties.destination.endpointType: 'AzureFunctions' is not one of ['AzureFunction', 'EventHub', "
            "'HybridConnection', 'MonitorAlert', 'NamespaceTopic', 'ServiceBusQueue', 'ServiceBusTopic', "
            "'StorageQueue', 'WebHook']",
        ),
    ],
)
def test_a_wrong_value_is_reported_with_its_path_and_cause(rtype, path, value, problem):
    template = load_template()
    resource = _only(template, rtype)
    _set(resource, path, value)
    assert arm_schemas.resource_errors(resource) == [problem]


def test_an_api_version_the_schemas_do_not_cover_is_reported():
    template = load_template()
    site = _only(template, SITE)
    site["apiVersion"] = "2022-09-01"
    assert arm_schemas.resource_errors(site) == [
        "Microsoft.Web/sites: apiVersion '2022-09-01' is not one of ['2023-12-01', '2024-04-01', '2024-11-01']"
    ]
    assert arm_schemas.template_errors(template) != []


def test_an_unknown_top_level_template_key_fails_the_whole_template_check():
    template = load_template()
    template["output"] = {}
    assert arm_schemas.template_errors(with_deployed_names(template)) == [
        "$: Additional properties are not allowed ('output' was unexpected)"
    ]


def test_app_service_authentication_is_optional_keeps_the_event_webhook_and_is_schema_checked():
    template = load_template()
    auth = _only(template, "Microsoft.Web/sites/config")
    assert auth["condition"] == "[parameters('enableAuthentication')]"
    assert TEMPLATE["parameters"]["enableAuthentication"]["defaultValue"] is False
    assert auth["properties"]["globalValidation"]["excludedPaths"] == ["/runtime/webhooks/eventgrid"]
    located = next(r for r in iter_resources(template) if r.resource is auth)
    assert evaluate(auth["name"], context_of(located, context())).endswith("/authsettingsV2")
    auth["properties"]["globalValidation"]["unauthenticatedClientAction"] = "RedirectToLogin"
    assert arm_schemas.resource_errors(as_deployed_name(located)) != []
