"""Read the deployment template (``infra/azuredeploy.json``) the way other tests need it.

Other suites import these helpers so that what they enforce is exactly what the template deploys:

* :func:`role_actions`, :func:`deployed_roles`, :func:`emulator_roles` - the custom roles, their actions and the
  scopes they are created and assigned at (the emulator's RBAC-lite enforces them per scope);
* :func:`event_subscription_filter` - the Event Grid filter of the subscription to the app (the emulator applies
  it when it delivers events);
* :func:`app_setting_names` - the app settings the function app gets.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.infra.arm_expressions import Context, ExpressionError, evaluate

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = ROOT / "infra" / "azuredeploy.json"
PARAMETERS_EXAMPLE_PATH = ROOT / "infra" / "azuredeploy.parameters.example.json"
README_PATH = ROOT / "infra" / "README.md"

ROLE_DEFINITION = "Microsoft.Authorization/roleDefinitions"
ROLE_ASSIGNMENT = "Microsoft.Authorization/roleAssignments"
EVENT_SUBSCRIPTION = "Microsoft.EventGrid/systemTopics/eventSubscriptions"
DEPLOYMENT = "Microsoft.Resources/deployments"
SITE = "Microsoft.Web/sites"
DEFAULT_SUBSCRIPTION_ID = "00000000-0000-0000-0000-000000000000"
# App settings the Functions platform reads (not the product): the template sets exactly these plus
# migration.settings.env_names().
RUNTIME_APP_SETTINGS = {
    "AzureWebJobsStorage__blobServiceUri": "Functions host and Durable task hub storage (blob endpoint of the cloud)",
    "AzureWebJobsStorage__queueServiceUri": "the same account's queue endpoint (Durable work items)",
    "AzureWebJobsStorage__tableServiceUri": "the same account's table endpoint (Durable history and instances)",
    "AzureWebJobsStorage__credential": "'managedidentity': authenticate to that storage with a managed identity",
    "AzureWebJobsStorage__clientId": "which (user-assigned) identity the host uses for that storage",
    "AzureFunctionsJobHost__extensions__durableTask__storageProvider__type": (
        "host.json's Durable storage provider, overridden by the chosen backend: AzureStorage or azureManaged"
    ),
    "AzureFunctionsJobHost__extensions__durableTask__storageProvider__connectionStringName": (
        "the app setting naming the backend's connection: AzureWebJobsStorage or the scheduler's"
    ),
    "DURABLE_TASK_SCHEDULER_CONNECTION_STRING": "the scheduler's endpoint and the identity (scheduler backend only)",
    "APPLICATIONINSIGHTS_CONNECTION_STRING": "where the host and worker send telemetry",
    "APPLICATIONINSIGHTS_AUTHENTICATION_STRING": "Entra ID ingestion with the user-assigned identity",
}
# Values for the parameters that have no default, or whose default needs Azure (uniqueString), so that
# expressions depending on them evaluate offline. Callers may override any of them.
OFFLINE_PARAMETERS = {
    "appName": "imgmig-offline",
    "storageAccountName": "imgmigoffline",
    "galleryResourceGroupId": f"/subscriptions/{DEFAULT_SUBSCRIPTION_ID}/resourceGroups/rg-gallery",
}


@functools.cache
def _load() -> str:
    return TEMPLATE_PATH.read_text("utf-8")


def load_template() -> dict[str, Any]:
    """A fresh copy of the template (callers may mutate it)."""
    return copy.deepcopy(json.loads(_load()))


@dataclass(frozen=True)
class Located:
    """A resource and where it sits: ``path`` like ``resources[15].properties.template.resources[1]``."""

    resource: dict[str, Any]
    path: str
    parent: Located | None = None  # the nested deployment that holds it, if any


def iter_templates(template: dict[str, Any], path: str = "$") -> Iterator[tuple[str, dict[str, Any]]]:
    """The template and every inline nested template, depth first."""
    yield path, template
    for i, resource in enumerate(template.get("resources", [])):
        inner = resource.get("properties", {}).get("template") if resource.get("type") == DEPLOYMENT else None
        if isinstance(inner, dict):
            yield from iter_templates(inner, f"{path}.resources[{i}].properties.template")


def iter_resources(template: dict[str, Any], path: str = "$", parent: Located | None = None) -> Iterator[Located]:
    """Every resource, including those of inline nested templates."""
    for i, resource in enumerate(template.get("resources", [])):
        here = Located(resource, f"{path}.resources[{i}]", parent)
        yield here
        inner = resource.get("properties", {}).get("template") if resource.get("type") == DEPLOYMENT else None
        if isinstance(inner, dict):
            yield from iter_resources(inner, f"{here.path}.properties.template", here)


def resources_of_type(rtype: str, template: dict[str, Any] | None = None) -> list[Located]:
    found = [r for r in iter_resources(template or load_template()) if r.resource.get("type") == rtype]
    if not found:
        raise LookupError(f"the template has no {rtype} resource")
    return found


def context(
    template: dict[str, Any] | None = None,
    parameters: dict[str, Any] | None = None,
    *,
    subscription_id: str = DEFAULT_SUBSCRIPTION_ID,
    resource_group: str = "rg-image-migration",
) -> Context:
    """Evaluation context of the top-level template (unset :data:`OFFLINE_PARAMETERS` get their offline value)."""
    template = template or load_template()
    values = {**OFFLINE_PARAMETERS, **(parameters or {})}
    return Context(template, values, subscription_id=subscription_id, resource_group=resource_group)


def context_of(located: Located, outer: Context) -> Context:
    """The context a resource's expressions see: nested templates (inner scope) see their own parameters."""
    if located.parent is None:
        return outer
    parent_context = context_of(located.parent, outer)
    deployment = located.parent.resource
    props = deployment["properties"]
    if props.get("expressionEvaluationOptions", {}).get("scope", "Outer").lower() != "inner":
        return parent_context
    values = {name: evaluate(p["value"], parent_context) for name, p in props.get("parameters", {}).items()}
    subscription = evaluate(deployment.get("subscriptionId", parent_context.subscription_id), parent_context)
    group = evaluate(deployment.get("resourceGroup", parent_context.resource_group), parent_context)
    return Context(props["template"], values, subscription_id=subscription, resource_group=group)


def is_deployed(located: Located, outer: Context) -> bool:
    """Whether the resource's ``condition`` (and those of the deployments holding it) evaluates to true."""
    if located.parent is not None and not is_deployed(located.parent, outer):
        return False
    return bool(evaluate(located.resource.get("condition", True), context_of(located, outer)))


# The template's custom roles: the variable holding each one's actions.
ROLE_ACTION_VARIABLES = {
    "source-images": "sourceImageRoleActions",
    "gallery": "galleryRoleActions",
    "boot-test": "bootTestRoleActions",
}


def role_actions(role: str) -> list[str]:
    """The ARM actions of one of the template's custom roles: ``source-images``, ``gallery`` or ``boot-test``."""
    actions = evaluate(f"[variables('{ROLE_ACTION_VARIABLES[role]}')]", context())
    if not isinstance(actions, list):
        raise ExpressionError(f"{ROLE_ACTION_VARIABLES[role]} is not a list")
    return [str(a) for a in actions]


@dataclass(frozen=True)
class DeployedRole:
    """A custom role as a deployment creates it: where it is created, where it may be and is assigned."""

    name: str  # roleName
    guid: str
    actions: list[str]
    not_actions: list[str]
    assignable_scopes: list[str]
    created_at: str  # the scope of the deployment that creates the definition
    assigned_at: list[str]


def _deployment_scope(deployment: dict[str, Any], here: Context) -> str:
    scope = f"/subscriptions/{evaluate(deployment.get('subscriptionId', here.subscription_id), here)}"
    if "resourceGroup" in deployment:
        scope += f"/resourceGroups/{evaluate(deployment['resourceGroup'], here)}"
    elif "subscriptionId" not in deployment:
        scope += f"/resourceGroups/{here.resource_group}"
    return scope


def deployed_roles(parameters: dict[str, Any] | None = None) -> list[DeployedRole]:
    """The custom roles a deployment with ``parameters`` creates, in template order, with the scopes the template
    assigns each at (nested deployments and copy loops expanded, conditions applied)."""
    outer = context(parameters=parameters)
    assigned: dict[str, list[str]] = {}
    for located in resources_of_type(DEPLOYMENT):
        deployment = located.resource
        inner = deployment["properties"]["template"]["resources"]
        if [r["type"] for r in inner] != [ROLE_ASSIGNMENT] or not is_deployed(located, outer):
            continue
        loop = deployment.get("copy")
        for i in range(evaluate(loop["count"], outer) if loop else 1):
            here = outer.with_copy_index(loop["name"], i) if loop else outer
            guid = evaluate(deployment["properties"]["parameters"]["assignment"]["value"]["roleDefinitionGuid"], here)
            assigned.setdefault(guid, []).append(_deployment_scope(deployment, here))
    roles = []
    for located in resources_of_type(ROLE_DEFINITION):
        if not is_deployed(located, outer):
            continue
        inner = context_of(located, outer)
        props = evaluate(located.resource["properties"], inner)
        guid = evaluate(located.resource["name"], inner)
        created_at = _deployment_scope(located.parent.resource, outer) if located.parent else outer.resource_group
        roles.append(
            DeployedRole(
                name=props["roleName"],
                guid=guid,
                actions=[a for p in props["permissions"] for a in p["actions"]],
                not_actions=[a for p in props["permissions"] for a in p.get("notActions", [])],
                assignable_scopes=list(props["assignableScopes"]),
                created_at=created_at,
                assigned_at=assigned.get(guid, []),
            )
        )
    return roles


def emulator_roles(parameters: dict[str, Any], principal_id: str) -> list[dict[str, Any]]:
    """The deployed roles as RBAC-lite role assignments of ``principal_id`` (each at its own scopes)."""
    return [
        {"name": r.name, "actions": r.actions, "scopes": r.assigned_at, "principals": [principal_id]}
        for r in deployed_roles(parameters)
        if r.assigned_at
    ]


def event_subscription_filter(
    subscription_id: str = DEFAULT_SUBSCRIPTION_ID, resource_group: str = "rg-image-migration"
) -> dict[str, Any]:
    """The ``properties.filter`` of the Event Grid subscription to the app, expressions resolved for a deployment
    into ``resource_group`` of ``subscription_id``."""
    outer = context(subscription_id=subscription_id, resource_group=resource_group)
    (located,) = resources_of_type(EVENT_SUBSCRIPTION)
    result = evaluate(located.resource["properties"]["filter"], context_of(located, outer))
    if not isinstance(result, dict):
        raise ExpressionError(f"the event subscription filter is not an object: {result!r}")
    return result


def parameter_name(env: str) -> str:
    """The template parameter of a product setting: its name in camelCase (``TAG_TRIGGER`` -> ``tagTrigger``)."""
    first, *rest = env.lower().split("_")
    return first + "".join(part.capitalize() for part in rest)


def app_settings_array(template: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    (site,) = resources_of_type(SITE, template)
    settings: list[dict[str, Any]] = site.resource["properties"]["siteConfig"]["appSettings"]
    return settings


def app_setting_names() -> set[str]:
    """Names of the function app's app settings."""
    names = [entry["name"] for entry in app_settings_array()]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise AssertionError(f"app settings set twice: {sorted(duplicates)}")
    return set(names)
