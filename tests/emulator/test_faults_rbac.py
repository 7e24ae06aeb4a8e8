"""Injected faults as the SDK sees them (429/503 retried by azure-core, 403 with the action named), RBAC-lite and
the request log's record of the actions a scenario used."""

from __future__ import annotations

import pytest
import requests
from azure.core.exceptions import HttpResponseError
from azure.identity import ManagedIdentityCredential
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.compute import models as cm
from azure.mgmt.resource.resources import ResourceManagementClient, models

from emulator.control import EmulatorControl
from emulator.identity import principal_id_for
from tests.emulator.conftest import IMAGE_ID, RG, RG_ID
from tests.emulator.helpers import arm_error


def test_429_with_retry_after_then_success_through_azure_core_retry(
    compute: ComputeManagementClient, control: EmulatorControl
) -> None:
    fault = control.add_fault(operationId="Images_Get", status=429, retryAfter=1, times=1)
    assert compute.images.get(RG, "ubuntu-web-01").name == "ubuntu-web-01"
    calls = control.requests(operation_id="Images_Get")
    assert [(c["status"], c["fault"]) for c in calls] == [(429, fault["id"]), (200, None)]


def test_503_burst_then_success(compute: ComputeManagementClient, control: EmulatorControl) -> None:
    control.add_fault(method="GET", pathRegex=r"/providers/Microsoft\.Compute/galleries/", status=503, times=2)
    assert compute.galleries.get(RG, "demo_gallery").name == "demo_gallery"
    assert [c["status"] for c in control.requests(operation_id="Galleries_Get")] == [503, 503, 200]


def test_fault_after_the_request_ran_loses_only_the_response(
    compute: ComputeManagementClient, control: EmulatorControl
) -> None:
    control.add_fault(operationId="Images_Update", status=500, when="after", times=1)
    compute.images.begin_update(RG, "ubuntu-web-01", cm.ImageUpdate(tags={"a": "1"})).result()
    assert compute.images.get(RG, "ubuntu-web-01").tags == {"a": "1"}
    assert [c["status"] for c in control.requests(operation_id="Images_Update")] == [500, 200]


def test_denied_action_is_403_naming_action_and_scope(
    compute: ComputeManagementClient, control: EmulatorControl
) -> None:
    control.add_fault(kind="deny", action="Microsoft.Compute/images/delete")
    with pytest.raises(HttpResponseError) as e:
        compute.images.begin_delete(RG, "ubuntu-web-01").result()
    oid = principal_id_for("5c6f1a9e-0000-4000-8000-000000000001")
    assert e.value.status_code == 403
    assert arm_error(e.value) == (
        "AuthorizationFailed",
        f"The client '{oid}' with object id '{oid}' does not have authorization to perform action "
        f"'Microsoft.Compute/images/delete' over scope '{IMAGE_ID}' or the scope is invalid. If access was "
        "recently granted, please refresh your credentials.",
    )
    assert compute.images.get(RG, "ubuntu-web-01").name == "ubuntu-web-01"


def test_rbac_lite_role_with_wildcards_and_not_actions(
    compute: ComputeManagementClient, resources: ResourceManagementClient, control: EmulatorControl
) -> None:
    control.set_role(
        {
            "properties": {
                "roleName": "reader-plus-tags",
                "permissions": [
                    {
                        "actions": ["Microsoft.Compute/*/read", "Microsoft.Resources/tags/*"],
                        "notActions": ["Microsoft.Compute/virtualMachineScaleSets/read"],
                    }
                ],
            }
        }
    )
    control.clear_requests()
    assert compute.images.get(RG, "ubuntu-web-01").name == "ubuntu-web-01"
    resources.tags.begin_update_at_scope(
        IMAGE_ID, models.TagsPatchResource(operation="Merge", properties=models.Tags(tags={"x": "y"}))
    ).result()
    with pytest.raises(HttpResponseError) as e:
        list(compute.virtual_machine_scale_sets.list(RG))
    assert arm_error(e.value)[0] == "AuthorizationFailed"
    assert "'Microsoft.Compute/virtualMachineScaleSets/read' over scope '" + RG_ID + "'" in arm_error(e.value)[1]
    summary = control.request_summary()
    assert summary["actions"] == [
        "Microsoft.Compute/images/read",
        "Microsoft.Compute/virtualMachineScaleSets/read",
        "Microsoft.Resources/tags/write",
    ]
    assert summary["byStatus"] == {"200": 2, "403": 1}


def test_user_assigned_client_id_becomes_the_principal(arm: str, control: EmulatorControl) -> None:
    client_id = "11111111-2222-4333-8444-555555555555"
    cred = ManagedIdentityCredential(client_id=client_id)
    client = ComputeManagementClient(
        cred,
        "00000000-0000-4000-8000-000000000001",
        base_url=arm,
        credential_scopes=["https://management.azure.com/.default"],
    )
    client.images.get(RG, "ubuntu-web-01")
    last = control.requests()[-1]
    assert (last["clientId"], last["principal"]) == (client_id, principal_id_for(client_id))


def test_hang_then_gateway_timeout(compute: ComputeManagementClient, control: EmulatorControl) -> None:
    control.add_fault(operationId="Galleries_Get", hang=0.2, times=1)
    assert compute.galleries.get(RG, "demo_gallery").name == "demo_gallery"
    assert [c["status"] for c in control.requests(operation_id="Galleries_Get")] == [504, 200]


def test_probability_zero_never_fires(compute: ComputeManagementClient, control: EmulatorControl) -> None:
    control.add_fault(operationId="Images_Get", status=500, probability=0.0)
    for _ in range(5):
        compute.images.get(RG, "ubuntu-web-01")
    assert {c["status"] for c in control.requests(operation_id="Images_Get")} == {200}


def test_polling_an_operation_needs_its_own_action(compute: ComputeManagementClient, control: EmulatorControl) -> None:
    control.set_role({"actions": ["Microsoft.Compute/galleries/*"]})
    poller = compute.galleries.begin_update(RG, "demo_gallery", cm.GalleryUpdate(tags={"a": "b"}))
    with pytest.raises(HttpResponseError) as e:
        poller.result(timeout=30)
    assert arm_error(e.value)[0] == "AuthorizationFailed"
    assert "'Microsoft.Compute/locations/capsOperations/read' over scope '/subscriptions/" in arm_error(e.value)[1]
    control.set_role(
        {
            "actions": ["Microsoft.Compute/galleries/*", "Microsoft.Compute/locations/capsOperations/read"],
            "scopes": [RG_ID],
        }
    )
    compute.galleries.begin_update(RG, "demo_gallery", cm.GalleryUpdate(tags={"a": "c"})).result(timeout=30)
    assert compute.galleries.get(RG, "demo_gallery").tags == {"a": "c"}


def test_only_the_original_caller_may_poll(
    arm: str, compute: ComputeManagementClient, control: EmulatorControl
) -> None:
    compute.galleries.begin_update(RG, "demo_gallery", cm.GalleryUpdate(tags={"a": "b"})).result()
    op = next(o for o in control.operations() if o["resourceId"].endswith("/galleries/demo_gallery"))
    other = ManagedIdentityCredential(client_id="22222222-2222-4222-8222-222222222222")
    token = other.get_token("https://management.azure.com/.default").token
    url = (
        f"{arm}/subscriptions/{op['subscription']}/providers/Microsoft.Compute/locations/westus2/capsOperations/"
        f"{op['name']}?api-version=2026-03-03"
    )
    resp = requests.get(url, headers={"Authorization": f"Bearer {token}"}, verify=control.ca_bundle, timeout=10)
    assert resp.status_code == 403
    assert resp.json()["error"] == {
        "code": "AuthorizationFailed",
        "message": "Only the original caller of an asynchronous operation is allowed to retrieve the results.",
    }
