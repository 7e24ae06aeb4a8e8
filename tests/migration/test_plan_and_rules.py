from migration.definitions import DefinitionFacts, compatibility_problems, definition_body
from migration.deletion import deletion_checks
from migration.forecast import forecast_image
from migration.plan import DefinitionAction, VersionAction, VersionFacts, build_plan, version_body
from migration.replication import RegionReplication, ReplicationSnapshot
from migration.settings import DeletionMode
from migration.source import Check, Disk, HyperVGeneration, OsState, OsType, preflight_checks
from migration.validation import validation_checks
from tests.migration.factories import GALLERY_ID, IMAGE_ID, SUB, request, settings, source

DEFINITION_ID = GALLERY_ID + "/images/ubuntu-base"


def facts(**overrides: object) -> DefinitionFacts:
    data: dict[str, object] = {
        "id": DEFINITION_ID,
        "os_type": OsType.LINUX,
        "os_state": OsState.GENERALIZED,
        "hyper_v_generation": HyperVGeneration.V2,
        "security_type": "Standard",
    }
    data.update(overrides)
    return DefinitionFacts.model_validate(data)


def plan(**kwargs: object):
    args: dict[str, object] = {
        "source": source(),
        "gallery_location": "westus2",
        "definition": None,
        "versions": [],
        "settings": settings(),
    }
    args.update(kwargs)
    req = args.pop("request", request())
    return build_plan(req, **args)  # type: ignore[arg-type]


def test_happy_plan_creates_definition_and_first_version() -> None:
    p = plan()
    assert p.ok
    assert p.definition_action == DefinitionAction.CREATE
    assert p.version_id.endswith("/images/ubuntu-base/versions/1.0.0")
    assert [r.name for r in p.target_regions] == ["westus2"]


def test_plan_failures_have_codes_and_reasons() -> None:
    assert plan(source=None).failure() == ("SourceNotEligible", f"source-exists: {IMAGE_ID} was not found")
    code, reason = plan(gallery_location=None).failure()
    assert code == "GalleryNotFound"
    code, reason = plan(gallery_location="eastus").failure()
    assert (code, "is in westus2 but the gallery is in eastus" in reason) == ("SourceNotEligible", True)
    big = source(data_disks=[Disk(lun=0, size_gb=2048)])
    code, reason = plan(source=big).failure()
    assert "LUN 0 (2048 GB)" in reason
    code, reason = plan(source=source(provisioning_state="Failed")).failure()
    assert "provisioning state is Failed" in reason


def test_existing_definition_reused_or_refused() -> None:
    assert plan(definition=facts()).definition_action == DefinitionAction.REUSE
    bad = plan(definition=facts(hyper_v_generation=HyperVGeneration.V1, os_type=OsType.WINDOWS))
    assert bad.definition_action == DefinitionAction.INCOMPATIBLE
    assert bad.failure()[0] == "DefinitionIncompatible"
    assert "Hyper-V generation is V1" in bad.failure()[1]


def test_gen1_source_needs_standard_security() -> None:
    gen1 = source(hyper_v_generation=None)
    spec = request().definition
    assert compatibility_problems(facts(hyper_v_generation=None, security_type=None), gen1, spec) == []
    problems = compatibility_problems(
        facts(hyper_v_generation=None, security_type="TrustedLaunchSupported"), gen1, spec
    )
    assert problems == ["definition security type is TrustedLaunchSupported; a Generation 1 image needs Standard"]
    body = definition_body(gen1, spec, location="westus2")
    assert body["properties"]["hyperVGeneration"] == "V1"
    assert {"name": "SecurityType", "value": "Standard"} in body["properties"]["features"]
    assert "purchasePlan" not in body["properties"]


def test_version_numbering_adoption_and_conflict() -> None:
    other = VersionFacts(id=DEFINITION_ID + "/versions/1.0.0", name="1.0.0", source_id=IMAGE_ID + "x")
    mine = VersionFacts(id=DEFINITION_ID + "/versions/1.0.1", name="1.0.1", source_id=IMAGE_ID.upper())
    assert plan(versions=[other]).version_id.endswith("/versions/1.0.1")
    adopted = plan(versions=[other, mine])
    assert (adopted.version_action, adopted.version_id.endswith("1.0.1")) == (VersionAction.ADOPT, True)
    conflict = plan(versions=[other], request=request(version="1.0.0"))
    assert conflict.version_action == VersionAction.CONFLICT
    assert conflict.failure()[0] == "VersionConflict"


def test_a_version_being_deleted_is_not_adopted_and_keeps_its_name() -> None:
    """Azure keeps a deleted version Deleting for about two minutes (recorded traffic: 91 s and 135 s)."""
    leaving = VersionFacts(
        id=DEFINITION_ID + "/versions/1.0.0", name="1.0.0", source_id=IMAGE_ID, provisioning_state="Deleting"
    )
    again = plan(versions=[leaving])
    assert (again.version_action, again.version_id.endswith("/versions/1.0.1")) == (VersionAction.CREATE, True)
    named = plan(versions=[leaving], request=request(version="1.0.0"))
    assert named.version_action == VersionAction.CONFLICT
    assert "is being deleted" in named.failure()[1]


def test_version_body_is_excluded_from_latest_and_carries_regions() -> None:
    p = plan(request=request(targetRegions=[{"name": "eastus", "replicaCount": 2}], endOfLife="2030-01-01T00:00:00Z"))
    body = version_body(p, provenance={"migration-id": "m"})
    publishing = body["properties"]["publishingProfile"]
    assert publishing["excludeFromLatest"] is True
    assert publishing["endOfLifeDate"] == "2030-01-01T00:00:00Z"
    assert [(r["name"], r["regionalReplicaCount"]) for r in publishing["targetRegions"]] == [
        ("westus2", 1),
        ("eastus", 2),
    ]
    assert body["properties"]["storageProfile"]["source"]["id"] == IMAGE_ID
    assert body["tags"] == {"migration-id": "m"}
    # Created deletable even with an end of life (gallery api-version 2026-03-03 would default the block on): the
    # block comes once validated, so a failed version can be removed.
    assert body["properties"]["safetyProfile"] == {
        "allowDeletionOfReplicatedLocations": False,
        "blockDeletionBeforeEndOfLife": False,
    }


def completed(*regions: str) -> ReplicationSnapshot:
    return ReplicationSnapshot(
        version_id="v",
        provisioning_state="Succeeded",
        aggregated_state="Completed",
        regions=[RegionReplication(region=r, state="Completed", progress=100) for r in regions],
    )


def version_facts(p, **overrides: object) -> VersionFacts:
    data: dict[str, object] = {
        "id": p.version_id,
        "name": "1.0.0",
        "source_id": IMAGE_ID,
        "os_disk": Disk(size_gb=30),
        "data_disks": [Disk(lun=0, size_gb=64)],
    }
    data.update(overrides)
    return VersionFacts.model_validate(data)


def test_validation_checks() -> None:
    p = plan(request=request(targetRegions=[{"name": "eastus"}]))
    good = validation_checks(p, version_facts(p), completed("West US 2", "East US"))
    assert all(c.passed for c in good), good
    partial = validation_checks(p, version_facts(p), completed("westus2"))
    assert [c.name for c in partial if not c.passed] == ["replicated-everywhere"]
    wrong = validation_checks(p, version_facts(p, source_id="/other", data_disks=[]), completed("westus2", "eastus"))
    assert {c.name for c in wrong if not c.passed} == {"built-from-source", "data-disks"}
    assert validation_checks(p, None, None)[0].name == "version-exists"


def test_deletion_guards() -> None:
    ok = deletion_checks(
        mode=DeletionMode.AFTER_VALIDATION,
        validation_passed=True,
        preflight_fingerprint="f1",
        current=source(),
        referencing_scale_sets=[],
        replication_mode="Full",
    )
    assert all(c.passed for c in ok)
    refused = deletion_checks(
        mode=DeletionMode.AFTER_APPROVAL,
        validation_passed=True,
        preflight_fingerprint="f1",
        current=source(fingerprint="f2"),
        referencing_scale_sets=["vmss1"],
        replication_mode="Shallow",
    )
    assert {c.name for c in refused if not c.passed} == {
        "approved",
        "full-replication",
        "source-unchanged",
        "no-scale-set-uses-it",
    }
    never = deletion_checks(
        mode=DeletionMode.NEVER,
        validation_passed=True,
        preflight_fingerprint="f1",
        current=None,
        referencing_scale_sets=[],
        replication_mode="Full",
    )
    assert {c.name for c in never if not c.passed} == {"mode-allows", "source-exists"}


def test_a_source_in_another_subscription_must_not_be_encrypted() -> None:
    """Learn, "Troubleshoot shared image galleries": an encrypted source cannot build a version in another
    subscription; an unencrypted one can. Same subscription: no such check."""
    elsewhere = GALLERY_ID.replace(SUB, "22222222-2222-4222-8222-222222222222")
    for encrypted, passed in ((False, True), (True, False)):
        checks = preflight_checks(
            source(encrypted=encrypted),
            gallery_location="westus2",
            max_data_disk_gb=1023,
            gallery_subscription=elsewhere.split("/")[2],
        )
        [rule] = [c for c in checks if c.name == "encrypted-source-subscription"]
        assert rule.passed is passed
    same = preflight_checks(
        source(encrypted=True), gallery_location="westus2", max_data_disk_gb=1023, gallery_subscription=SUB
    )
    assert "encrypted-source-subscription" not in {c.name for c in same}


def test_every_refused_read_is_named_in_one_permission_failure() -> None:
    denied = [
        Check(name="permission", passed=False, reason="in subscription A: images/read"),
        Check(name="permission", passed=False, reason="in subscription B: galleries/read"),
    ]
    plan = build_plan(
        request(), source=None, gallery_location=None, definition=None, versions=[], settings=settings(), denied=denied
    )
    assert plan.failure() == (
        "PermissionDenied",
        "permission: in subscription A: images/read; permission: in subscription B: galleries/read",
    )


def test_the_plan_row_shows_the_safety_profile_the_version_would_get() -> None:
    """Issue 15, item 4: a plan says which safety profile the validated version gets; an end of life blocks its
    deletion by default (BLOCK_DELETION_BEFORE_END_OF_LIFE), and the request can say otherwise."""
    eol = "2027-06-30T00:00:00Z"
    default = forecast_image(plan(request=request(end_of_life=eol)), scale_sets=[])
    assert default.safety_profile == {"allowDeletionOfReplicatedLocations": False, "blockDeletionBeforeEndOfLife": True}
    chosen = request(
        end_of_life=eol, block_deletion_before_end_of_life=False, allow_deletion_of_replicated_locations=True
    )
    row = forecast_image(plan(request=chosen), scale_sets=[])
    assert row.safety_profile == {"allowDeletionOfReplicatedLocations": True, "blockDeletionBeforeEndOfLife": False}
    assert forecast_image(plan(), scale_sets=[]).safety_profile["blockDeletionBeforeEndOfLife"] is False
