"""Optional boot test: create a VM from the new version in a scratch resource group, then remove both.

Only runs when a request asks for it (``bootTest``) and ``BOOT_TEST_SUBNET_ID`` names a subnet the VM can
use. The role's boot-test actions are behind a template parameter, as most users do not need them.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from typing import Any

from azure.mgmt.compute.models import VirtualMachine

from activities import _arm
from migration.plan import MigrationPlan
from migration.resource_ids import VersionId
from migration.source import Check, OsState, OsType

logger = logging.getLogger(__name__)


def _vm_body(plan: MigrationPlan, version: VersionId, location: str, name: str) -> dict[str, Any]:
    assert plan.source is not None
    cfg = _arm.settings()
    properties: dict[str, Any] = {
        "hardwareProfile": {"vmSize": cfg.boot_test_vm_size},
        "storageProfile": {
            "imageReference": {"id": str(version)},
            "osDisk": {"createOption": "FromImage", "deleteOption": "Delete"},
        },
        "networkProfile": {
            "networkApiVersion": "2020-11-01",
            "networkInterfaceConfigurations": [
                {
                    "name": f"{name}-nic",
                    "properties": {
                        "primary": True,
                        "deleteOption": "Delete",
                        "ipConfigurations": [
                            {"name": "ipconfig1", "properties": {"subnet": {"id": cfg.boot_test_subnet_id}}}
                        ],
                    },
                }
            ],
        },
    }
    if plan.source.os_state == OsState.GENERALIZED:
        # A throwaway credential: the VM lives for minutes and is never logged into.
        profile: dict[str, Any] = {
            "computerName": name[:15],
            "adminUsername": "boottest",
            "adminPassword": secrets.token_urlsafe(24) + "aA1!",
        }
        if plan.source.os_type == OsType.LINUX:
            profile["linuxConfiguration"] = {"disablePasswordAuthentication": False}
        properties["osProfile"] = profile
    return {"location": location, "properties": properties}


def boot_test_check(plan: MigrationPlan, version: VersionId, *, migration_id: str) -> Check:
    cfg = _arm.settings()
    if not cfg.boot_test_subnet_id:
        return Check(name="boot-test", passed=False, reason="boot test requested but BOOT_TEST_SUBNET_ID is not set")
    assert plan.source is not None
    suffix = hashlib.sha256(f"{migration_id}/{version}".encode()).hexdigest()[:10]
    group, vm_name = f"{cfg.boot_test_resource_group_prefix}{suffix}", f"boottest-{suffix}"
    subscription = version.subscription_id
    location = plan.source.location
    rg_client = _arm.resources(subscription).resource_groups
    vms = _arm.compute(subscription).virtual_machines
    try:
        with _arm.arm_errors(f"creating boot-test resource group {group}"):
            rg_client.create_or_update(group, {"location": location, "tags": {"purpose": "image-migration-boot-test"}})
        with _arm.arm_errors(f"booting a VM from {version}"):
            vm = vms.begin_create_or_update(
                group, vm_name, VirtualMachine(_vm_body(plan, version, location, vm_name))
            ).result()
        state = str((vm.as_dict().get("properties") or {}).get("provisioningState"))
        return Check(name="boot-test", passed=state == "Succeeded", reason=f"boot-test VM provisioning state {state}")
    except Exception as exc:
        return Check(name="boot-test", passed=False, reason=str(exc)[:500])
    finally:
        try:
            with _arm.arm_errors(f"removing boot-test resource group {group}"):
                rg_client.begin_delete(group).result()
        except Exception:
            logger.warning("could not remove boot-test resource group %s", group, exc_info=True)
