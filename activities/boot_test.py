"""Optional boot test: a VM from the new version in a scratch resource group, awaited with durable timers.

Three idempotent steps, so no activity blocks on the VM's long-running creation: ``start_boot_test`` (resource
group + VM PUT, not polled), ``get_boot_test`` (the VM's provisioning state) and ``remove_boot_test`` (delete
the scratch group, not polled). Only runs when a request asks for it (``bootTest``) and ``BOOT_TEST_SUBNET_ID``
names a subnet the VM may join; the role's boot-test actions are behind a template parameter.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from typing import Any

from azure.core.exceptions import ResourceNotFoundError
from azure.mgmt.compute.models import VirtualMachine

from activities import _arm
from activities.blueprint import bp
from migration.errors import ArmRequestFailed
from migration.plan import MigrationPlan
from migration.resource_ids import VersionId
from migration.source import OsState, OsType

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
        # A throwaway credential: the VM lives for minutes, is never logged into, and the value is never logged.
        profile: dict[str, Any] = {
            "computerName": name[:15],
            "adminUsername": "boottest",
            "adminPassword": secrets.token_urlsafe(24) + "aA1!",
        }
        if plan.source.os_type == OsType.LINUX:
            profile["linuxConfiguration"] = {"disablePasswordAuthentication": False}
        properties["osProfile"] = profile
    return {"location": location, "properties": properties}


def scratch_names(migration_id: str, version: str) -> tuple[str, str]:
    suffix = hashlib.sha256(f"{migration_id}/{version}".encode()).hexdigest()[:10]
    return f"{_arm.settings().boot_test_resource_group_prefix}{suffix}", f"boottest-{suffix}"


@bp.activity_trigger(input_name="payload")
def start_boot_test(payload: dict[str, Any]) -> dict[str, Any]:
    """Create the scratch group and submit the VM; returns where it is, or the reason it could not start."""
    plan = MigrationPlan.model_validate(payload["plan"])
    assert plan.source is not None
    version = VersionId.parse(payload["versionId"])
    cfg = _arm.settings()
    if not cfg.boot_test_subnet_id:
        return {"error": "boot test requested but BOOT_TEST_SUBNET_ID is not set"}
    group, vm_name = scratch_names(str(payload.get("migrationId", "")), str(version))
    subscription = version.subscription_id
    location = plan.source.location
    try:
        with _arm.arm_errors(f"creating boot-test resource group {group}"):
            _arm.resources(subscription).resource_groups.create_or_update(
                group, {"location": location, "tags": {"purpose": "image-migration-boot-test"}}
            )
        with _arm.arm_errors(f"booting a VM from {version}"):
            _arm.compute(subscription).virtual_machines.begin_create_or_update(
                group, vm_name, VirtualMachine(_vm_body(plan, version, location, vm_name)), polling=False
            )
    except ArmRequestFailed as exc:  # refused outright (e.g. the size or subnet is invalid): a failed check
        return {"error": exc.message, "subscription": subscription, "group": group}
    logger.info("boot test VM %s/%s submitted", group, vm_name)
    return {"subscription": subscription, "group": group, "vm": vm_name}


@bp.activity_trigger(input_name="payload")
def get_boot_test(payload: dict[str, Any]) -> dict[str, Any]:
    """The boot-test VM's provisioning state (``Creating``, ``Succeeded``, ``Failed``, or ``NotFound``)."""
    with _arm.arm_errors(f"reading boot-test VM {payload['vm']}"):
        try:
            vm = _arm.compute(payload["subscription"]).virtual_machines.get(payload["group"], payload["vm"])
        except ResourceNotFoundError:
            return {"state": "NotFound"}
    return {"state": str((vm.as_dict().get("properties") or {}).get("provisioningState") or "Unknown")}


@bp.activity_trigger(input_name="payload")
def remove_boot_test(payload: dict[str, Any]) -> dict[str, Any]:
    """Delete the scratch resource group (and the VM in it); absent already is fine."""
    with _arm.arm_errors(f"removing boot-test resource group {payload['group']}"):
        try:
            _arm.resources(payload["subscription"]).resource_groups.begin_delete(payload["group"], polling=False)
        except ResourceNotFoundError:
            return {"removed": False}
    return {"removed": True}
