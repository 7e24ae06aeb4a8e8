"""The template against the code it deploys: app settings, parameters, roles, the Event Grid subscription."""

from __future__ import annotations

import ast
import json
import re
from enum import StrEnum
from typing import Any

import pytest

from migration.settings import Settings, env_names
from tests.infra.arm_expressions import evaluate
from tests.infra.template import (
    EVENT_SUBSCRIPTION,
    ROLE_ACTION_VARIABLES,
    ROLE_DEFINITION,
    ROOT,
    RUNTIME_APP_SETTINGS,
    DeployedRole,
    app_setting_names,
    app_settings_array,
    context,
    context_of,
    deployed_roles,
    event_subscription_filter,
    iter_templates,
    load_template,
    parameter_name,
    resources_of_type,
    role_actions,
)

TEMPLATE = load_template()
# Product settings whose value comes from the deployment itself rather than from a parameter.
DERIVED_SETTINGS = {"AZURE_CLIENT_ID", "AZURE_CLOUD"}
_PARAMETER_REF = re.compile(r"parameters\('([^']+)'\)")


def setting_values(parameters: dict[str, Any]) -> dict[str, str]:
    """The product settings' app setting values as the template renders them (derived ones left out)."""
    outer = context(parameters=parameters)
    return {
        entry["name"]: evaluate(entry["value"], outer)
        for entry in app_settings_array()
        if entry["name"] in env_names() and entry["name"] not in DERIVED_SETTINGS
    }


def test_app_settings_are_exactly_the_ones_the_code_reads_plus_the_runtime_ones():
    expected = set(env_names()) | set(RUNTIME_APP_SETTINGS)
    names = app_setting_names()
    assert {"missing": sorted(expected - names), "unused": sorted(names - expected)} == {"missing": [], "unused": []}


def test_each_product_setting_has_its_own_parameter_with_the_code_description():
    problems = {}
    for entry in app_settings_array():
        if entry["name"] not in env_names() or entry["name"] in DERIVED_SETTINGS:
            continue
        name = parameter_name(entry["name"])
        field = next(f for f in Settings.model_fields.values() if f.alias == entry["name"])
        description = TEMPLATE["parameters"].get(name, {}).get("metadata", {}).get("description")
        if _PARAMETER_REF.findall(entry["value"]) != [name]:
            problems[entry["name"]] = f"value {entry['value']!r} should use parameters('{name}')"
        elif description != f"App setting {entry['name']}: {field.description}":
            problems[entry["name"]] = f"description {description!r} differs from migration/settings.py"
    assert problems == {}


def test_parameter_defaults_give_the_code_defaults():
    """Deploying with every default yields the same Settings as running with no app settings at all."""
    rendered = Settings.from_env(setting_values({})).model_dump()
    defaults = Settings().model_dump()
    assert {k: {"template": rendered[k], "code": v} for k, v in defaults.items() if rendered[k] != v} == {}


def test_non_default_parameter_values_reach_the_app():
    changed = {"deleteFailedVersion": False, "armRetryTotal": 2, "armRetryBackoffSeconds": "1.5", "tagTrigger": "go"}
    rendered = Settings.from_env(setting_values(changed))
    assert (rendered.delete_failed_version, rendered.arm_retry_total) == (False, 2)
    assert (rendered.arm_retry_backoff_seconds, rendered.tag_trigger) == (1.5, "go")


def test_choice_parameters_allow_exactly_the_values_the_code_accepts():
    for field in Settings.model_fields.values():
        if field.alias in DERIVED_SETTINGS:
            continue
        spec = TEMPLATE["parameters"][parameter_name(str(field.alias))]
        if isinstance(field.annotation, type) and issubclass(field.annotation, StrEnum):
            assert spec["allowedValues"] == [m.value for m in field.annotation], field.alias
        for value in spec.get("allowedValues", []):
            Settings.from_env(setting_values({parameter_name(str(field.alias)): value}))  # raises if refused


def test_derived_settings_come_from_the_deployment():
    values = {entry["name"]: entry["value"] for entry in app_settings_array()}
    assert values["AZURE_CLOUD"] == "[environment().name]"
    assert values["AZURE_CLIENT_ID"] == "[reference(variables('identityId'), '2024-11-30').clientId]"
    assert values["AzureWebJobsStorage__clientId"] == values["AZURE_CLIENT_ID"]
    assert values["AzureWebJobsStorage__credential"] == "managedidentity"


def test_every_parameter_and_variable_is_used():
    text = _template_text_without_declarations()
    unused_parameters = [name for name in TEMPLATE["parameters"] if f"parameters('{name}')" not in text]
    copy_loops = [loop["name"] for loop in TEMPLATE["variables"].get("copy", [])]
    variables = [name for name in TEMPLATE["variables"] if name != "copy"] + copy_loops
    unused_variables = [name for name in variables if f"variables('{name}')" not in text]
    assert {"parameters": unused_parameters, "variables": unused_variables} == {"parameters": [], "variables": []}


def _template_text_without_declarations() -> str:
    """The template as text, minus the parameter declarations (their defaults kept: they may use other ones)."""
    rest = {k: v for k, v in TEMPLATE.items() if k != "parameters"}
    return json.dumps(rest) + json.dumps([p.get("defaultValue") for p in TEMPLATE["parameters"].values()])


def test_nested_templates_use_every_parameter_they_declare():
    for path, template in iter_templates(TEMPLATE):
        if path == "$":
            continue
        text = json.dumps(template.get("resources", []))
        assert [p for p in template.get("parameters", {}) if f"parameters('{p}')" not in text] == [], path


# --- roles ---------------------------------------------------------------------------------------------------------

SOURCE_IMAGE_ACTIONS = [
    "Microsoft.Compute/images/read",
    "Microsoft.Compute/images/delete",
    "Microsoft.Resources/tags/write",
    "Microsoft.Compute/galleries/read",
    "Microsoft.Compute/virtualMachineScaleSets/read",
]
GALLERY_ACTIONS = [
    "Microsoft.Compute/galleries/read",
    "Microsoft.Compute/galleries/images/read",
    "Microsoft.Compute/galleries/images/write",
    "Microsoft.Compute/galleries/images/versions/read",
    "Microsoft.Compute/galleries/images/versions/write",
    "Microsoft.Compute/galleries/images/versions/delete",
    "Microsoft.Resources/tags/write",
]


def test_each_scope_gets_its_own_role_with_exactly_its_actions():
    """Image scopes never get gallery writes, the gallery's group never gets images/delete (issue 19, item 7)."""
    assert role_actions("source-images") == SOURCE_IMAGE_ACTIONS
    assert role_actions("gallery") == GALLERY_ACTIONS
    boot_test = role_actions("boot-test")
    assert "Microsoft.Resources/subscriptions/resourceGroups/write" in boot_test
    assert not [a for a in boot_test if a.startswith(("Microsoft.Compute/images", "Microsoft.Compute/galleries"))]
    everything = SOURCE_IMAGE_ACTIONS + GALLERY_ACTIONS + boot_test
    assert [a for a in everything if "*" in a] == [], "no wildcards: every action is named"


def test_scale_set_repoint_adds_exactly_the_scale_set_write_and_only_when_enabled():
    """Issue 15, item 2: the role grows by exactly what repointing needs (the model PATCH), only when asked for."""
    enabled = role_actions("source-images", {"enableScaleSetRepoint": True})
    assert enabled == [*SOURCE_IMAGE_ACTIONS, "Microsoft.Compute/virtualMachineScaleSets/write"]
    assert role_actions("gallery", {"enableScaleSetRepoint": True}) == GALLERY_ACTIONS
    roles = roles_by_name({**EXAMPLE, "enableScaleSetRepoint": True})
    assert roles["Image Gallery Migrator source images"].actions == enabled


def test_the_role_action_lists_live_in_one_variable_each():
    outer = context()
    for located in resources_of_type(ROLE_DEFINITION):
        (permission,) = located.resource["properties"]["permissions"]
        assert permission == {"actions": "[parameters('role').actions]", "notActions": []}
        passed = located.parent.resource["properties"]["parameters"]["role"]["value"]  # type: ignore[union-attr]
        assert re.fullmatch(r"\[variables\('\w+RoleActions'\)\]", passed["actions"]), passed
        assert evaluate(passed["actions"], outer) == role_actions(
            next(k for k, v in ROLE_ACTION_VARIABLES.items() if v in passed["actions"])
        )


EXAMPLE = {
    "imageSubscriptionIds": ["11111111-1111-1111-1111-111111111111"],
    "imageResourceGroupIds": ["/subscriptions/22222222-2222-2222-2222-222222222222/resourceGroups/rg-images"],
    "galleryResourceGroupId": "/subscriptions/33333333-3333-3333-3333-333333333333/resourceGroups/rg-gallery",
    "enableBootTest": True,
}
GROUPS_ONLY = {**EXAMPLE, "imageSubscriptionIds": [], "enableBootTest": False}


def roles_by_name(parameters: dict[str, Any]) -> dict[str, DeployedRole]:
    return {r.name.split(" (")[0]: r for r in deployed_roles(parameters)}


@pytest.mark.parametrize("parameters", [EXAMPLE, GROUPS_ONLY], ids=["subscriptions-and-groups", "groups-only"])
def test_each_role_is_created_at_its_first_assignable_scope_and_assigned_exactly_there(parameters):
    """Issue 19, item 2: a custom role is created at (or under) one of its assignable scopes (the official
    create-role-def quickstart creates it with a deployment at the scope it is assignable at), never in the app's
    resource group, which is not one of them."""
    for role in deployed_roles(parameters):
        assert role.created_at == role.assignable_scopes[0], role
        assert sorted(role.assigned_at) == sorted(role.assignable_scopes), role
        assert not role.not_actions


def test_roles_are_assigned_at_the_requested_scopes():
    roles = roles_by_name(EXAMPLE)
    assert roles["Image Gallery Migrator source images"].assigned_at == [
        "/subscriptions/11111111-1111-1111-1111-111111111111",
        "/subscriptions/22222222-2222-2222-2222-222222222222/resourceGroups/rg-images",
    ]
    assert roles["Image Gallery Migrator gallery"].assigned_at == [EXAMPLE["galleryResourceGroupId"]]
    assert roles["Image Gallery Migrator boot test"].assigned_at == [
        "/subscriptions/33333333-3333-3333-3333-333333333333"
    ]
    assert list(roles_by_name(GROUPS_ONLY)) == [
        "Image Gallery Migrator source images",
        "Image Gallery Migrator gallery",
    ]


def test_gallery_resource_group_also_holding_images_gets_both_roles():
    same = EXAMPLE["galleryResourceGroupId"]
    roles = roles_by_name({**GROUPS_ONLY, "imageResourceGroupIds": [same]})
    assert roles["Image Gallery Migrator source images"].assigned_at == [same]
    assert roles["Image Gallery Migrator gallery"].assigned_at == [same]


def test_scale_set_check_scope_default_follows_the_role_scopes():
    """Issue 19, item 4: with the source-image role on resource groups only, a subscription-wide scale-set list would
    get 403 and keep every source; the default then checks the image's resource group."""
    assert Settings.from_env(setting_values({})).scale_set_scope == "subscription"
    assert Settings.from_env(setting_values(GROUPS_ONLY)).scale_set_scope == "resource-group"
    assert Settings.from_env(setting_values(EXAMPLE)).scale_set_scope == "resource-group"  # one group is enough
    explicit = setting_values({**GROUPS_ONLY, "scaleSetCheckScope": "subscription"})
    assert Settings.from_env(explicit).scale_set_scope == "subscription"


def test_host_storage_endpoints_come_from_the_storage_account():
    """Issue 19, item 8: the account's own service URIs (right in every cloud), as the Flex Consumption samples set
    them, instead of an account name the host would turn into public-cloud endpoints."""
    values = {entry["name"]: entry["value"] for entry in app_settings_array()}
    for service in ("blob", "queue", "table"):
        assert values[f"AzureWebJobsStorage__{service}ServiceUri"] == (
            f"[reference(variables('storageId'), '2025-06-01').primaryEndpoints.{service}]"
        )
    assert "AzureWebJobsStorage__accountName" not in values


# --- Event Grid --------------------------------------------------------------------------------------------------


def test_event_subscription_filter_is_the_issue_s_filter():
    assert event_subscription_filter() == {
        "includedEventTypes": ["Microsoft.Resources.ResourceWriteSuccess"],
        "isSubjectCaseSensitive": False,
        "advancedFilters": [
            {
                "operatorType": "StringIn",
                "key": "data.operationName",
                "values": ["Microsoft.Compute/images/write", "Microsoft.Resources/tags/write"],
            },
            {"operatorType": "StringContains", "key": "subject", "values": ["/providers/Microsoft.Compute/images/"]},
        ],
    }


def test_event_subscription_delivers_to_the_app_s_event_grid_function_and_dead_letters_with_its_own_identity():
    (located,) = resources_of_type(EVENT_SUBSCRIPTION)
    outer = context(subscription_id="44444444-4444-4444-4444-444444444444", resource_group="rg-app")
    props = evaluate(located.resource["properties"], context_of(located, outer))
    site = "/subscriptions/44444444-4444-4444-4444-444444444444/resourceGroups/rg-app/providers/Microsoft.Web/sites"
    assert props["destination"]["endpointType"] == "AzureFunction"
    assert props["destination"]["properties"]["resourceId"] == f"{site}/imgmig-offline/functions/on_image_tagged"
    assert props["retryPolicy"] == {"maxDeliveryAttempts": 30, "eventTimeToLiveInMinutes": 1440}
    dead_letter = props["deadLetterWithResourceIdentity"]
    assert dead_letter["identity"]["type"] == "UserAssigned"
    assert dead_letter["identity"]["userAssignedIdentity"].endswith("/userAssignedIdentities/imgmig-offline-events-id")
    assert dead_letter["deadLetterDestination"]["properties"]["blobContainerName"] == "eventgrid-deadletter"
    (topic,) = resources_of_type("Microsoft.EventGrid/systemTopics")
    identities = evaluate(topic.resource["identity"], context_of(topic, outer))["userAssignedIdentities"]
    assert list(identities) == [dead_letter["identity"]["userAssignedIdentity"]]


def test_the_topic_identity_may_write_to_the_dead_letter_container_only():
    """Issue 19, item 7: Event Grid does not share the app's identity; its own one gets Storage Blob Data
    Contributor on the dead-letter container (Learn, "Dead letter and retry policies" with a managed identity: the
    identity needs a data role that can write blobs on the destination)."""
    outer = context()
    assignments = [
        (evaluate(r.resource["scope"], outer), evaluate(r.resource["properties"]["roleDefinitionId"], outer))
        for r in resources_of_type("Microsoft.Authorization/roleAssignments")
        if r.parent is None and "eventsIdentityId" in r.resource["properties"]["principalId"]
    ]
    assert [(scope, role.rsplit("/", 1)[1]) for scope, role in assignments] == [
        (
            "Microsoft.Storage/storageAccounts/imgmigoffline/blobServices/default/containers/eventgrid-deadletter",
            "ba92f5b4-2d11-453d-a403-e96b0029c9fe",  # Storage Blob Data Contributor
        )
    ]


@pytest.mark.parametrize(
    ("scope", "source", "topic_type"),
    [
        ("subscription", "/subscriptions/{sub}", "Microsoft.Resources.Subscriptions"),
        ("resourceGroup", "/subscriptions/{sub}/resourceGroups/rg-watched", "Microsoft.Resources.ResourceGroups"),
    ],
)
def test_where_the_topic_lives_is_separate_from_what_it_watches(scope, source, topic_type):
    """Issue 19, item 6: ``eventScope``/``eventSourceResourceGroupName`` say what is watched;
    ``systemTopicName``/``systemTopicResourceGroupName`` say where the topic is (an existing one is reused by naming
    it: Azure allows one system topic per source)."""
    sub = "55555555-5555-5555-5555-555555555555"
    parameters = {
        "eventScope": scope,
        "eventSourceResourceGroupName": "rg-watched",
        "systemTopicName": "existing-topic",
        "systemTopicResourceGroupName": "rg-topics",
    }
    outer = context(parameters=parameters, subscription_id=sub)
    (topic,) = resources_of_type("Microsoft.EventGrid/systemTopics")
    props = evaluate(topic.resource["properties"], context_of(topic, outer))
    assert props == {"source": source.format(sub=sub), "topicType": topic_type}
    assert evaluate(topic.resource["name"], context_of(topic, outer)) == "existing-topic"
    assert evaluate(topic.parent.resource["resourceGroup"], outer) == "rg-topics"  # type: ignore[union-attr]
    default = context(subscription_id=sub)
    assert evaluate(topic.resource["name"], context_of(topic, default)) == "imgmig-offline-resource-events"
    assert evaluate(topic.parent.resource["resourceGroup"], default) == "rg-image-migration"  # type: ignore[union-attr]


def test_the_event_grid_destination_is_an_event_grid_trigger_of_the_app():
    tree = ast.parse((ROOT / "triggers" / "event_grid.py").read_text("utf-8"))
    triggers = [
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and any(
            isinstance(d, ast.Call) and isinstance(d.func, ast.Attribute) and d.func.attr == "event_grid_trigger"
            for d in node.decorator_list
        )
    ]
    assert TEMPLATE["variables"]["eventGridFunctionName"] in triggers


# --- what the issue asks of the rest ------------------------------------------------------------------------------


def _resource(rtype: str) -> dict[str, Any]:
    (located,) = resources_of_type(rtype)
    return located.resource


def test_storage_allows_no_shared_keys_and_has_the_deployment_and_dead_letter_containers():
    props = _resource("Microsoft.Storage/storageAccounts")["properties"]
    assert (props["allowSharedKeyAccess"], props["allowBlobPublicAccess"]) == (False, False)
    containers = [
        r.resource["name"] for r in resources_of_type("Microsoft.Storage/storageAccounts/blobServices/containers")
    ]
    assert containers == ["[variables('deploymentContainerPath')]", "[variables('deadLetterContainerPath')]"]


def test_identity_gets_the_data_roles_durable_functions_needs_and_the_metrics_publisher_role():
    roles = {r["name"]: r["id"] for r in TEMPLATE["variables"]["storageDataRoles"]}
    assert roles == {
        "Storage Blob Data Owner": "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
        "Storage Queue Data Contributor": "974c5e8b-45b9-4653-ba55-5f855dd0fb88",
        "Storage Table Data Contributor": "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3",
    }
    assert TEMPLATE["variables"]["monitoringMetricsPublisherRoleId"] == "3913510d-42f4-4e42-8a64-420c390055eb"
    assert _resource("Microsoft.Insights/components")["properties"]["DisableLocalAuth"] is True


def test_function_app_is_flex_consumption_python_3_11_with_the_user_assigned_identity():
    plan = _resource("Microsoft.Web/serverfarms")
    assert plan["sku"] == {"name": "FC1", "tier": "FlexConsumption"}
    site = _resource("Microsoft.Web/sites")
    config = site["properties"]["functionAppConfig"]
    assert config["runtime"] == {"name": "python", "version": "3.11"}
    assert config["deployment"]["storage"]["authentication"]["type"] == "UserAssignedIdentity"
    assert site["identity"] == {"type": "UserAssigned", "userAssignedIdentities": {"[variables('identityId')]": {}}}


def test_outputs_name_the_app_its_url_and_the_identity():
    assert {"appName", "appUrl", "identityPrincipalId"} <= set(TEMPLATE["outputs"])
