"""Scale sets (listed, with their image references) and virtual machines created from a gallery image version."""

from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.compute import ComputeManagementClient, models

from emulator.control import EmulatorControl
from tests.emulator.conftest import GALLERY, IMAGE_ID, RG, RG_ID
from tests.emulator.helpers import arm_error, definition, version


def test_scale_sets_are_listed_with_their_image_reference(
    compute: ComputeManagementClient, control: EmulatorControl
) -> None:
    [vmss] = list(compute.virtual_machine_scale_sets.list_all())
    assert vmss.name == "web-vmss"
    assert vmss.virtual_machine_profile.storage_profile.image_reference.offer == "ubuntu-24_04-lts"
    body = {
        "location": "westus2",
        "properties": {"virtualMachineProfile": {"storageProfile": {"imageReference": {"id": IMAGE_ID}}}},
    }
    compute.virtual_machine_scale_sets.begin_create_or_update(RG, "uses-image", models.VirtualMachineScaleSet(body))
    refs = [
        s.virtual_machine_profile.storage_profile.image_reference.id
        for s in compute.virtual_machine_scale_sets.list(RG)
    ]
    assert refs == [None, IMAGE_ID]


def vm_body(image_id: str, location: str = "westus2") -> models.VirtualMachine:
    return models.VirtualMachine(
        {
            "location": location,
            "properties": {
                "hardwareProfile": {"vmSize": "Standard_D2s_v5"},
                "storageProfile": {"imageReference": {"id": image_id}},
                "networkProfile": {
                    "networkInterfaces": [{"id": f"{RG_ID}/providers/Microsoft.Network/networkInterfaces/n"}]
                },
            },
        }
    )


def test_boot_a_vm_from_a_version(compute: ComputeManagementClient, control: EmulatorControl) -> None:
    control.configure({"replication": {"fixedSeconds": 0, "queuedSeconds": 0}, "lro": {"vmBootSeconds": 90}})
    compute.gallery_images.begin_create_or_update(RG, GALLERY, "web", definition()).result()
    ver = compute.gallery_image_versions.begin_create_or_update(RG, GALLERY, "web", "1.0.0", version()).result()
    poller = compute.virtual_machines.begin_create_or_update(RG, "boot-test", vm_body(str(ver.id)))
    assert compute.virtual_machines.get(RG, "boot-test").provisioning_state == "Creating"
    control.advance(90)
    assert poller.result(timeout=30).provisioning_state == "Succeeded"
    with pytest.raises(HttpResponseError) as e:
        compute.virtual_machines.begin_create_or_update(RG, "far", vm_body(str(ver.id), "eastus")).result()
    assert arm_error(e.value)[0] == "InvalidParameter"
    assert "is not available in region 'eastus'" in arm_error(e.value)[1]
    compute.virtual_machines.begin_delete(RG, "boot-test").result()
    assert list(compute.virtual_machines.list(RG)) == []
