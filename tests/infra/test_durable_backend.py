"""The Durable backend the template deploys: Azure Storage by default, the Durable Task Scheduler on request, with
the same code and ``host.json`` (app settings override its storage provider)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.infra.arm_expressions import evaluate
from tests.infra.template import ROOT, app_settings_array, context, is_deployed, iter_resources, load_template

TEMPLATE = load_template()
HOST = json.loads((ROOT / "host.json").read_text("utf-8"))["extensions"]["durableTask"]
SCHEDULER_TYPES = ("Microsoft.DurableTask/schedulers", "Microsoft.DurableTask/schedulers/taskHubs")
DATA_CONTRIBUTOR = "0ad04412-c4d5-4796-b79c-f76d14c8d402"  # Learn, built-in roles: Durable Task Data Contributor


def _deployed(parameters: dict[str, Any]) -> list[dict[str, Any]]:
    """The top-level resources deployed with these parameters (the scheduler's are all top-level)."""
    outer = context(parameters=parameters)
    return [r.resource for r in iter_resources(TEMPLATE) if r.parent is None and is_deployed(r, outer)]


def _setting(name: str, parameters: dict[str, Any]) -> Any:
    (entry,) = [e for e in app_settings_array() if e["name"] == name]
    return evaluate(entry["value"], context(parameters=parameters))


def test_azure_storage_is_the_default_and_deploys_no_scheduler() -> None:
    assert TEMPLATE["parameters"]["durableBackend"]["defaultValue"] == "AzureStorage"
    assert not [r for r in _deployed({}) if r["type"] in SCHEDULER_TYPES]
    prefix = "AzureFunctionsJobHost__extensions__durableTask__storageProvider__"
    assert _setting(prefix + "type", {}) == "AzureStorage"
    assert _setting(prefix + "connectionStringName", {}) == HOST["storageProvider"]["connectionName"]


def test_the_scheduler_option_deploys_a_task_hub_named_like_host_json_and_the_app_s_role_on_it() -> None:
    parameters = {"durableBackend": "DurableTaskScheduler", "schedulerSku": "Dedicated", "schedulerCapacity": 2}
    deployed = _deployed(parameters)
    outer = context(parameters=parameters)
    (scheduler,) = [r for r in deployed if r["type"] == SCHEDULER_TYPES[0]]
    (hub,) = [r for r in deployed if r["type"] == SCHEDULER_TYPES[1]]
    assert evaluate(scheduler["properties"]["sku"], outer) == {"name": "Dedicated", "capacity": 2}
    assert evaluate(hub["name"], outer).split("/") == [evaluate(scheduler["name"], outer), HOST["hubName"]]
    roles = [
        r
        for r in deployed
        if r["type"] == "Microsoft.Authorization/roleAssignments" and "DurableTask" in str(r.get("scope", ""))
    ]
    (role,) = roles
    assert evaluate(role["properties"]["roleDefinitionId"], outer).endswith(DATA_CONTRIBUTOR)
    assert evaluate(role["scope"], outer).endswith(f"/taskHubs/{HOST['hubName']}")
    assert "identityId" in role["properties"]["principalId"]  # the app's own identity
    prefix = "AzureFunctionsJobHost__extensions__durableTask__storageProvider__"
    assert _setting(prefix + "type", parameters) == "azureManaged"
    assert _setting(prefix + "connectionStringName", parameters) == "DURABLE_TASK_SCHEDULER_CONNECTION_STRING"
    (connection,) = [e for e in app_settings_array() if e["name"] == "DURABLE_TASK_SCHEDULER_CONNECTION_STRING"]
    assert "Authentication=ManagedIdentity;ClientID=" in connection["value"]  # identity only, as the scheduler wants


@pytest.mark.parametrize("sku", ["Consumption"])
def test_a_consumption_scheduler_has_no_capacity(sku: str) -> None:
    parameters = {"durableBackend": "DurableTaskScheduler", "schedulerSku": sku}
    (scheduler,) = [r for r in _deployed(parameters) if r["type"] == SCHEDULER_TYPES[0]]
    assert evaluate(scheduler["properties"]["sku"], context(parameters=parameters)) == {"name": sku}


def test_host_json_is_sized_for_fleets() -> None:
    """The values infra/README.md explains ("Which Durable backend"); the devhost reads the two concurrency limits."""
    assert HOST["storageProvider"]["partitionCount"] == 8
    assert (HOST["maxConcurrentActivityFunctions"], HOST["maxConcurrentOrchestratorFunctions"]) == (16, 8)
    readme = (ROOT / "infra" / "README.md").read_text("utf-8")
    for key in ("partitionCount", "maxConcurrentActivityFunctions", "maxConcurrentOrchestratorFunctions"):
        assert f"`{key}`" in readme or f"`storageProvider.{key}`" in readme, key
