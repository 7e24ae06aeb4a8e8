"""Fast unit tests of the pure parts: Event Grid filters, replication timing, RBAC-lite roles, resource IDs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from emulator.compute import replication
from emulator.core.errors import LinkedInvalidPropertyId
from emulator.core.ids import parse, same
from emulator.eventgrid.filters import matches, validate
from emulator.rbac import parse_role
from emulator.settings import ReplicationTimings, Settings

EVENT = {
    "subject": "/subscriptions/s/resourceGroups/RG/providers/Microsoft.Compute/images/img",
    "eventType": "Microsoft.Resources.ResourceWriteSuccess",
    "data": {"operationName": "Microsoft.Compute/images/write", "count": 3, "flag": True},
}


@pytest.mark.parametrize(
    ("filt", "expected"),
    [
        ({}, True),
        ({"includedEventTypes": ["microsoft.resources.resourcewritesuccess"]}, True),
        ({"includedEventTypes": ["Microsoft.Resources.ResourceDeleteSuccess"]}, False),
        ({"subjectBeginsWith": "/subscriptions/s/resourcegroups/rg/"}, True),
        ({"subjectBeginsWith": "/subscriptions/s/resourcegroups/rg/", "isSubjectCaseSensitive": True}, False),
        ({"subjectEndsWith": "/img"}, True),
        (
            {
                "advancedFilters": [
                    {
                        "operatorType": "StringIn",
                        "key": "data.operationName",
                        "values": ["microsoft.compute/images/write"],
                    }
                ]
            },
            True,
        ),
        (
            {
                "advancedFilters": [
                    {
                        "operatorType": "StringNotIn",
                        "key": "data.operationName",
                        "values": ["Microsoft.Compute/images/write"],
                    }
                ]
            },
            False,
        ),
        (
            {
                "advancedFilters": [
                    {
                        "operatorType": "StringContains",
                        "key": "subject",
                        "values": ["/providers/Microsoft.Compute/images/"],
                    }
                ]
            },
            True,
        ),
        ({"advancedFilters": [{"operatorType": "StringBeginsWith", "key": "data.missing", "values": ["x"]}]}, False),
        ({"advancedFilters": [{"operatorType": "StringNotContains", "key": "data.missing", "values": ["x"]}]}, True),
        ({"advancedFilters": [{"operatorType": "NumberIn", "key": "data.count", "values": [1, 3]}]}, True),
        ({"advancedFilters": [{"operatorType": "NumberGreaterThan", "key": "data.count", "value": 3}]}, False),
        ({"advancedFilters": [{"operatorType": "BoolEquals", "key": "data.flag", "value": True}]}, True),
        ({"advancedFilters": [{"operatorType": "IsNullOrUndefined", "key": "data.none"}]}, True),
    ],
)
def test_event_grid_filter(filt: dict[str, object], expected: bool) -> None:
    assert matches(filt, EVENT) is expected


def test_unknown_operator_is_refused() -> None:
    with pytest.raises(ValueError, match="unsupported advanced filter operatorType 'StringLike'"):
        validate({"advancedFilters": [{"operatorType": "StringLike", "key": "subject", "values": []}]})


def test_replication_region_states_over_time() -> None:
    t0 = datetime(2030, 1, 1, tzinfo=UTC)
    entry = replication.plan_region(ReplicationTimings(fixed_seconds=100, queued_seconds=10), "East US", 94, 1, t0)
    at = lambda s: replication.region_status(entry, t0 + timedelta(seconds=s))  # noqa: E731
    assert (at(5).state, at(5).progress, at(5).details) == ("Replicating", 0, "Queued")
    assert (at(60).state, at(60).progress) == ("Replicating", 50)
    assert (at(110).state, at(110).progress, at(110).terminal_at) == ("Completed", 100, t0 + timedelta(seconds=110))
    entry["fault"] = {"mode": "fail", "atProgress": 40, "details": "boom"}
    assert (at(50).state, at(50).progress, at(50).details) == ("Failed", 40, "boom")
    assert replication.terminal([at(50)]) == ("Failed", t0 + timedelta(seconds=50))


def test_duration_model() -> None:
    timings = ReplicationTimings(base_seconds=100, seconds_per_gib=2, replica_factor=0.5, region_factors={"eastus": 3})
    # by hand: 100 s + 2 s/GiB x 50 GiB = 200 s; East US x 3 = 600 s; two extra replicas at +50 % each = 1,200 s
    assert replication.duration_seconds(timings, "East US", 50, 3) == 1200.0
    assert replication.duration_seconds(timings, "West US 2", 50, 1) == 200.0  # no factor, one replica
    fixed = ReplicationTimings(fixed_seconds=42, base_seconds=100, region_factors={"eastus": 3})
    assert replication.duration_seconds(fixed, "East US", 50, 3) == 42


def test_role_definition_from_a_template_resource() -> None:
    role = parse_role(
        {
            "type": "Microsoft.Authorization/roleDefinitions",
            "properties": {
                "roleName": "migrator",
                "permissions": [
                    {"actions": ["Microsoft.Compute/images/*"], "notActions": ["Microsoft.Compute/images/delete"]}
                ],
            },
        }
    )
    assert role.allows("Microsoft.Compute/images/read", "/subscriptions/s")
    assert role.allows("microsoft.compute/IMAGES/write", "/subscriptions/s")
    assert not role.allows("Microsoft.Compute/images/delete", "/subscriptions/s")
    assert not role.allows("Microsoft.Compute/galleries/read", "/subscriptions/s")


def test_role_scopes_limit_where_it_applies() -> None:
    role = parse_role({"actions": ["*"], "scopes": ["/subscriptions/s/resourceGroups/a"]})
    assert role.allows("x/read", "/subscriptions/s/resourceGroups/A/providers/p/t/n")
    assert not role.allows("x/read", "/subscriptions/s/resourceGroups/ab")


def test_roles_apply_each_at_its_own_scopes_and_to_its_own_principals() -> None:
    """ARM unions role assignments: one role's notActions do not take away what another role grants."""
    images, gallery = "/subscriptions/s/resourceGroups/images", "/subscriptions/s/resourceGroups/gallery"
    roles = parse_role(
        [
            {"name": "source", "actions": ["Microsoft.Compute/images/*"], "scopes": [images], "principals": ["APP"]},
            {
                "name": "gallery",
                "actions": ["Microsoft.Compute/*"],
                "notActions": ["Microsoft.Compute/images/delete"],
                "scopes": [gallery],
                "principals": ["app"],
            },
        ]
    )
    assert roles.allows("Microsoft.Compute/images/delete", f"{images}/providers/Microsoft.Compute/images/a", "app")
    assert not roles.allows("Microsoft.Compute/images/delete", f"{gallery}/providers/Microsoft.Compute/images/a", "app")
    assert roles.allows(
        "Microsoft.Compute/galleries/write", f"{gallery}/providers/Microsoft.Compute/galleries/g", "app"
    )
    assert not roles.allows(
        "Microsoft.Compute/galleries/write", f"{images}/providers/Microsoft.Compute/galleries/g", "app"
    )
    assert not roles.allows("Microsoft.Compute/images/read", f"{images}/providers/Microsoft.Compute/images/a", "user")
    grant = roles.grant("Microsoft.Compute/images/read", f"{images}/providers/Microsoft.Compute/images/a", "app")
    assert grant is not None
    assert (grant.role, grant.assignment_scope) == ("source", images)
    assert grant.assignment_id.startswith(f"{images}/providers/Microsoft.Authorization/roleAssignments/")
    assert grant.definition_id.startswith("/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/")


def test_resource_ids() -> None:
    rid = parse("/subscriptions/S/resourceGroups/rg/providers/Microsoft.Compute/galleries/g/images/d/versions/1.0.0")
    assert (rid.type, rid.name, str(rid.parent.parent)) == (
        "Microsoft.Compute/galleries/images/versions",
        "1.0.0",
        "/subscriptions/S/resourceGroups/rg/providers/Microsoft.Compute/galleries/g",
    )
    assert same("/subscriptions/s/resourcegroups/RG", "/SUBSCRIPTIONS/S/resourceGroups/rg/")
    with pytest.raises(LinkedInvalidPropertyId):
        parse("../../etc/passwd", prop="source.id")


def test_settings_patch_is_a_deep_merge() -> None:
    merged = Settings().merged({"replication": {"fixedSeconds": 3600}})
    assert merged.replication.fixed_seconds == 3600
    assert merged.replication.base_seconds == Settings().replication.base_seconds


def test_readme_lists_exactly_the_routes() -> None:
    from emulator.coverage import table
    from localrun.processes import REPO_ROOT

    assert table() in (REPO_ROOT / "emulator" / "README.md").read_text()


def test_next_change_is_the_earliest_terminal_instant() -> None:
    t0 = datetime(2030, 1, 1, tzinfo=UTC)
    timings = ReplicationTimings(fixed_seconds=100, queued_seconds=0)
    fast, slow = (replication.plan_region(timings, r, 1, 1, t0) for r in ("a", "b"))
    slow["duration"] = 300.0
    assert replication.next_change([fast, slow], t0) == t0 + timedelta(seconds=100)
    assert replication.next_change([fast, slow], t0 + timedelta(seconds=150)) == t0 + timedelta(seconds=300)
    slow["fault"] = {"mode": "stall", "atProgress": 60, "details": ""}
    assert replication.next_change([slow], t0 + timedelta(seconds=150)) is None
    slow["fault"] = {"mode": "fail", "atProgress": 80, "details": ""}
    assert replication.next_change([slow], t0 + timedelta(seconds=150)) == t0 + timedelta(seconds=240)


def test_package_exports() -> None:
    import emulator

    assert emulator.__all__ == ["ControlError", "EmulatorControl"]
    assert all(hasattr(emulator, name) for name in emulator.__all__)
