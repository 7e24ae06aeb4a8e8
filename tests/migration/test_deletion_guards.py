"""Each deletion guard refuses alone, with the exact reason an operator reads in ``sourceKeptReason`` and in the
``migration-reason`` tag (docs/reliability.md quotes them); a passed guard carries no reason."""

from __future__ import annotations

from typing import Any

import pytest

from migration.deletion import deletion_checks, refusal_reason
from migration.settings import DeletionMode
from tests.migration.factories import source

SAFE: dict[str, Any] = {
    "mode": DeletionMode.AFTER_VALIDATION,
    "validation_passed": True,
    "preflight_fingerprint": "f1",
    "current": source(fingerprint="f1"),
    "referencing_scale_sets": [],
    "replication_mode": "Full",
    "approved": False,
    "cancel_requested": False,
}
SETS = [
    f"/subscriptions/s/resourceGroups/g/providers/Microsoft.Compute/virtualMachineScaleSets/vmss{i}" for i in range(12)
]

# (what is unsafe, the refusal reason in full)
REFUSALS = [
    ({"cancel_requested": True}, "not-canceled: a cancel was requested for this migration"),
    ({"mode": DeletionMode.NEVER}, "mode-allows: deletion mode is 'never'"),
    ({"validation_passed": False}, "validation-passed: the new version did not pass validation"),
    ({"mode": DeletionMode.AFTER_APPROVAL}, "approved: no approval was given"),
    (
        {"replication_mode": "Shallow"},
        "full-replication: the version was replicated in Shallow mode and still reads from the source image",
    ),
    ({"current": None}, "source-exists: the source image no longer exists"),
    (
        {"current": source(fingerprint="f2")},
        "source-unchanged: the source image was modified after preflight, so the version is not a copy of it",
    ),
    (
        {"preflight_fingerprint": ""},  # no fingerprint from preflight proves nothing
        "source-unchanged: the source image was modified after preflight, so the version is not a copy of it",
    ),
    (
        {"referencing_scale_sets": SETS[:2]},
        f"no-scale-set-uses-it: still referenced by scale set(s): {SETS[0]}, {SETS[1]}",
    ),
    (
        {"referencing_scale_sets": SETS},  # named up to ten
        "no-scale-set-uses-it: still referenced by scale set(s): " + ", ".join(SETS[:10]),
    ),
]


def test_all_guards_pass_when_everything_is_safe() -> None:
    checks = deletion_checks(**SAFE)
    assert [(c.name, c.passed, c.reason) for c in checks] == [
        ("not-canceled", True, ""),
        ("mode-allows", True, ""),
        ("validation-passed", True, ""),
        ("full-replication", True, ""),
        ("source-unchanged", True, ""),
        ("no-scale-set-uses-it", True, ""),
    ]
    assert refusal_reason(checks) == ""


@pytest.mark.parametrize(
    ("unsafe", "reason"), REFUSALS, ids=[r[1].split(":")[0] + str(i) for i, r in enumerate(REFUSALS)]
)
def test_each_guard_refuses_alone_with_its_reason(unsafe: dict[str, Any], reason: str) -> None:
    checks = deletion_checks(**{**SAFE, **unsafe})
    assert [c for c in checks if not c.passed] != []
    assert refusal_reason(checks) == reason


def test_an_approval_satisfies_after_approval_mode_and_full_is_case_insensitive() -> None:
    checks = deletion_checks(
        **{**SAFE, "mode": DeletionMode.AFTER_APPROVAL, "approved": True, "replication_mode": "FULL"}
    )
    assert all(c.passed for c in checks)
    assert "approved" in [c.name for c in checks]


def test_several_refusals_are_all_named_in_order() -> None:
    checks = deletion_checks(**{**SAFE, "mode": DeletionMode.NEVER, "current": None})
    assert refusal_reason(checks) == (
        "mode-allows: deletion mode is 'never'; source-exists: the source image no longer exists"
    )
