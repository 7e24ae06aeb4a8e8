"""Each validation check fails alone, with the exact reason the migration reports (``ValidationFailed``), and a
version that cannot be read never passes."""

from __future__ import annotations

from typing import Any

import pytest

from migration.replication import RegionReplication, ReplicationSnapshot
from migration.source import Disk, check
from migration.validation import ValidationReport, validation_checks
from tests.migration.factories import IMAGE_ID, request, source
from tests.migration.test_plan_and_rules import completed, plan, version_facts

PLAN = plan(request=request(targetRegions=[{"name": "eastus"}]))
DONE = completed("West US 2", "East US")
OTHER_DEFINITION = PLAN.version_id.replace("/images/ubuntu-base/", "/images/other/")


def failures(version: Any = None, replication: ReplicationSnapshot | None = DONE, p: Any = PLAN) -> list[str]:
    facts = version_facts(p) if version is None else version
    report = ValidationReport(checks=validation_checks(p, facts, replication))
    return [f"{c.name}: {c.reason}" for c in report.checks if not c.passed]


def test_a_faithful_version_passes_every_check() -> None:
    checks = validation_checks(PLAN, version_facts(PLAN), DONE)
    assert [c.name for c in checks] == [
        "version-succeeded",
        "built-from-source",
        "in-definition",
        "replicated-everywhere",
        "os-disk",
        "data-disks",
    ]
    assert ValidationReport(checks=checks).passed
    assert ValidationReport(checks=checks).failure_reason() == ""


@pytest.mark.parametrize("missing", ["version", "source"])
def test_a_version_or_source_that_cannot_be_read_never_passes(missing: str) -> None:
    p = plan(source=None) if missing == "source" else PLAN
    checks = validation_checks(p, None if missing == "version" else version_facts(p), DONE)
    assert [(c.name, c.passed, c.reason) for c in checks] == [
        ("version-exists", False, f"{p.version_id} was not found")
    ]
    assert not ValidationReport(checks=checks).passed
    assert not ValidationReport(checks=[]).passed  # no check is no proof


# (what differs, the one failure reported in full)
FAILURES = [
    ({"provisioning_state": "Failed"}, "version-succeeded: provisioning state is Failed"),
    ({"source_id": "/other"}, f"built-from-source: the version's source is /other, not {IMAGE_ID}"),
    ({"source_id": None}, f"built-from-source: the version's source is None, not {IMAGE_ID}"),
    ({"id": OTHER_DEFINITION}, f"in-definition: the version is not in {PLAN.definition_id}"),
    ({"os_disk": None}, "os-disk: OS disk image None does not match the source's lun=None size_gb=30 source_id=None"),
    (
        {"os_disk": Disk(size_gb=29)},
        "os-disk: OS disk image lun=None size_gb=29 source_id=None does not match the source's "
        "lun=None size_gb=30 source_id=None",
    ),
    ({"data_disks": []}, "data-disks: source data disk LUNs [0] vs version []"),
    (
        {"data_disks": [Disk(lun=0, size_gb=64), Disk(lun=1, size_gb=8)]},
        "data-disks: source data disk LUNs [0] vs version [0, 1]",
    ),
    (
        {"data_disks": [Disk(lun=0, size_gb=65)]},
        "data-disks: source data disk LUNs [0] vs version [0]; size differs at LUN [0]",
    ),
]


@pytest.mark.parametrize(
    ("changes", "reason"), FAILURES, ids=[f[1].split(":")[0] + str(i) for i, f in enumerate(FAILURES)]
)
def test_each_check_fails_alone_with_its_reason(changes: dict[str, Any], reason: str) -> None:
    assert failures(version_facts(PLAN, **changes)) == [reason]


def test_sizes_that_are_unknown_or_larger_pass() -> None:
    """A larger OS disk is fine (Azure may round up); an unknown size on either side proves nothing wrong."""
    assert failures(version_facts(PLAN, os_disk=Disk(size_gb=31))) == []
    assert failures(version_facts(PLAN, os_disk=Disk(size_gb=None))) == []
    assert failures(version_facts(PLAN, data_disks=[Disk(lun=0, size_gb=None)])) == []
    unknown = plan(source=source(os_disk=Disk(size_gb=None), data_disks=[Disk(lun=None, size_gb=None)]))
    assert (
        failures(version_facts(unknown, os_disk=Disk(size_gb=1), data_disks=[Disk(lun=0, size_gb=9)]), p=unknown) == []
    )


def test_a_disk_without_a_lun_is_lun_0_on_both_sides() -> None:
    no_lun = plan(source=source(data_disks=[Disk(lun=None, size_gb=64)]))
    assert failures(version_facts(no_lun, data_disks=[Disk(lun=0, size_gb=64)]), p=no_lun) == []
    assert failures(version_facts(PLAN, data_disks=[Disk(lun=None, size_gb=64)])) == []
    assert failures(version_facts(PLAN, data_disks=[Disk(lun=None, size_gb=63)])) == [
        "data-disks: source data disk LUNs [0] vs version [0]; size differs at LUN [0]"
    ]


def test_every_target_region_must_have_completed() -> None:
    partial = ReplicationSnapshot(
        version_id="v",
        provisioning_state="Succeeded",
        regions=[
            RegionReplication(region="West US 2", state="Completed", progress=100),
            RegionReplication(region="East US", state="Replicating", progress=99),
        ],
    )
    assert failures(replication=partial) == ["replicated-everywhere: not Completed in: eastus"]
    assert failures(replication=None) == ["replicated-everywhere: not Completed in: eastus, westus2"]
    assert failures(replication=completed("EAST US", "westus2")) == []  # names as Azure or the user spell them


def test_replication_failures_are_named_exactly() -> None:
    failed = ReplicationSnapshot(
        version_id="v",
        provisioning_state="Failed",
        regions=[
            RegionReplication(region="East US", state="Failed", details="disk copy failed"),
            RegionReplication(region="West US 2", state="Failed"),
            RegionReplication(region="UK South", state="Completed", progress=100),
        ],
    )
    assert failed.failure_reason() == "replication failed in East US: disk copy failed; West US 2: replication failed"
    state_only = ReplicationSnapshot(version_id="v", provisioning_state="Failed")
    assert state_only.failure_reason() == "replication failed in the version's provisioning state is Failed"


def test_the_failure_reason_names_each_failed_check_in_order() -> None:
    report = ValidationReport(
        checks=[
            check(name="os-disk", passed=False, reason="no OS disk"),
            check(name="in-definition", passed=True, reason="ok"),
            check(name="data-disks", passed=False, reason="LUN 1 is missing"),
        ]
    )
    assert not report.passed
    assert report.failure_reason() == "os-disk: no OS disk; data-disks: LUN 1 is missing"
