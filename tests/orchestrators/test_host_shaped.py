"""``migrate_image`` on histories shaped like the real host's (see :mod:`tests.orchestrators.hosted`): several
events per episode, .NET failure text, case-insensitive event names, bounded custom status, promotion on timers,
and a failed outcome with its bookkeeping done whatever goes wrong. Every run is also checked on replay."""

from __future__ import annotations

import gc
import json
import sys
from datetime import datetime
from typing import Any

import pytest

from migration.errors import DefinitionIncompatible
from migration.regions import PUBLIC_REGIONS
from migration.replication import ReplicationSnapshot
from migration.status import CUSTOM_STATUS_LIMIT_BYTES, TRUNCATED, Phase, utf16_size
from orchestrators import migrate_image as orchestrator
from tests.app_functions import functions
from tests.devhost.minihost import entity_handles
from tests.migration.factories import request
from tests.orchestrators.hosted import (
    START,
    TASK_SCHEDULED,
    TIMER_CREATED,
    HostedOrchestration,
    Run,
    check_replay,
    handle_of,
    raised,
)
from tests.orchestrators.scripted_arm import APP_SETTINGS, ScriptedArm

START_NOW = START


def migrate(arm: ScriptedArm, *, check: bool = True, **host: Any) -> Run:
    body = dict(host.pop("body", {}))
    origin = body.pop("origin", "http")
    handle = handle_of(functions(), "migrate_image")
    migration = request(**body).model_copy(update={"origin": origin})
    data = {"request": migration.model_dump(mode="json"), "settings": APP_SETTINGS.model_dump(mode="json")}
    run = HostedOrchestration(handle, arm.activities(), entities=entity_handles(functions()), **host).run(data)
    if check:
        check_replay(handle, run)
    return run


def cancel_event(via: str) -> dict[str, Any]:
    """The cancel as stored by the project's API (the SDK client posts a JSON string) or the raiseEvent webhook."""
    payload = {"at": "2026-12-07T09:31:00Z"}
    return raised("cancel", json.dumps(payload) if via == "api" else payload, START_NOW)


def test_the_happy_path_with_a_promotion_that_stays_updating() -> None:
    arm = ScriptedArm(promotion_reads=3)
    run = migrate(arm)
    assert run.output["outcome"] == "succeeded", run.output
    assert run.output["sourceDeleted"] is True
    promote = arm.calls.index("promote_image_version")
    assert arm.calls[promote + 1 :] == ["get_replication_status"] * 4 + ["delete_source_image", "record_status"]
    # the promotion is awaited on durable timers: first when Azure's update usually ends (151 s), then backing off
    timers = [e for e in run.history if e["EventType"] == TIMER_CREATED]
    scheduled = [e for e in run.history if e["EventType"] == TASK_SCHEDULED]
    promoted_at = next(e["Timestamp"] for e in scheduled if e["Name"] == "promote_image_version")
    waits = [_seconds(t["FireAt"]) - _seconds(t["Timestamp"]) for t in timers if t["Timestamp"] > promoted_at]
    assert [round(w) for w in waits] == [151, 15, 30, 60]


def _seconds(stamp: str) -> float:
    return datetime.fromisoformat(stamp[:26] + "+00:00").timestamp()


@pytest.mark.parametrize(
    ("reads", "code", "mentions"),
    [
        ([ReplicationSnapshot(version_id="v", provisioning_state="Failed")], "PromotionFailed", "state is Failed"),
        ([ReplicationSnapshot(version_id="v", provisioning_state="Updating")] * 80, "DeadlineExceeded", "1800 s"),
    ],
    ids=["failed", "never-finishes"],
)
def test_a_promotion_that_fails_or_never_finishes(reads: list[ReplicationSnapshot], code: str, mentions: str) -> None:
    replication = [ScriptedArm().snapshot("v", "Succeeded", "Completed", 100)]
    arm = ScriptedArm(answers={"get_replication_status": [*replication, *(r.model_dump() for r in reads)]})
    run = migrate(arm, body={"deletionMode": "after-validation"})
    assert (run.output["outcome"], run.output["error"]["code"]) == ("failed", code), run.output
    assert mentions in run.output["error"]["message"]
    assert "delete_source_image" not in arm.calls
    assert "delete_image_version" not in arm.calls  # validated: kept
    assert run.output["phase"] == "validating"


@pytest.mark.parametrize("via", ["api", "webhook"])
@pytest.mark.parametrize(
    ("with_result_of", "body", "never"),
    [
        ("validate_image_version", {}, "promote_image_version"),
        ("validate_image_version", {"excludeFromLatest": True}, "delete_source_image"),
        ("get_replication_status", {}, "delete_source_image"),  # the read that ends the promotion wait
    ],
    ids=["before-promotion", "before-deletion", "after-promotion"],
)
def test_a_cancel_delivered_with_an_activity_result_stops_the_next_irreversible_write(
    via: str, with_result_of: str, body: dict[str, Any], never: str
) -> None:
    arm = ScriptedArm()
    # the promotion's read is the fourth status read (three for replication)
    key = f"{with_result_of}#3" if with_result_of == "get_replication_status" else with_result_of
    run = migrate(arm, body=body, deliver_with={key: [cancel_event(via)]})
    assert run.output["outcome"] == "canceled", run.output
    assert never not in arm.calls
    assert "delete_source_image" not in arm.calls
    assert run.output["sourceDeleted"] is False


def test_an_approval_and_a_cancel_in_one_episode_keep_the_source() -> None:
    arm = ScriptedArm()
    events = [raised("approve", {"by": "ops"}, START_NOW), cancel_event("webhook")]
    run = migrate(arm, body={"deletionMode": "after-approval"}, deliver_with={"record_status": events})
    assert (run.output["outcome"], run.output["phase"]) == ("canceled", "awaiting-approval"), run.output
    assert "delete_source_image" not in arm.calls


def test_event_names_are_matched_in_any_case_as_the_host_does() -> None:
    arm = ScriptedArm()
    run = migrate(arm, raise_at_start=[raised("CANCEL", None, START_NOW)])
    assert (run.output["outcome"], run.output["phase"]) == ("canceled", "preflight")

    arm = ScriptedArm()
    run = migrate(
        arm, body={"deletionMode": "after-approval"}, deliver_with={"record_status": [raised("Approve", 1, START_NOW)]}
    )
    assert run.output["outcome"] == "succeeded"
    assert run.output["sourceDeleted"] is True


@pytest.mark.parametrize("with_result_of", ["get_replication_status#1", "validate_image_version"])
def test_an_approval_raised_before_validation_passed_approves_nothing(with_result_of: str) -> None:
    """Through the built-in raiseEvent webhook an approval can arrive while replicating or together with the
    validation result, before the awaiting-approval phase is published: it must not pre-approve the deletion."""
    arm = ScriptedArm(answers={"delete_source_image": []})
    early = [raised("approve", {"by": "ops"}, START_NOW)]
    run = migrate(arm, body={"deletionMode": "after-approval"}, deliver_with={with_result_of: early})
    assert (run.output["outcome"], run.output["sourceDeleted"]) == ("succeeded", False), run.output
    assert "no approval" in run.output["sourceKeptReason"]
    assert "delete_source_image" not in arm.calls

    # The same approval once the phase is published (it arrives with the awaiting-approval tag write) counts.
    arm = ScriptedArm()
    run = migrate(arm, body={"deletionMode": "after-approval"}, deliver_with={"record_status": early})
    assert run.output["sourceDeleted"] is True, run.output


@pytest.mark.parametrize("when", ["during-replication", "with-the-last-result"])
def test_a_hold_raised_for_a_tag_start_makes_the_deletion_wait_for_approval(when: str) -> None:
    """The starter raises ``hold`` (as the SDK client sends it: a JSON string of JSON text) when an untrusted
    principal writes a tag while the migration runs; it is seen up to the end of the episode that decides."""
    hold = raised("hold", json.dumps("approval required: tag written by an unlisted principal"), START_NOW)
    key = "get_replication_status#1" if when == "during-replication" else "get_replication_status#3"
    arm = ScriptedArm(answers={"delete_source_image": []})
    run = migrate(arm, body={"origin": "tag"}, deliver_with={key: [hold]})
    assert (run.output["outcome"], run.output["sourceDeleted"]) == ("succeeded", False), run.output
    assert "approval required: tag written by an unlisted principal" in run.output["sourceKeptReason"]
    assert "delete_source_image" not in arm.calls
    assert not [e for e in run.history if e["EventType"] == TIMER_CREATED and e["FireAt"] == e["Timestamp"]]


def test_an_activity_failure_in_the_hosts_text_keeps_its_domain_error() -> None:
    arm = ScriptedArm(answers={"ensure_image_definition": [DefinitionIncompatible("osType differs: Windows != Linux")]})
    run = migrate(arm)
    assert run.output["error"] == {"code": "DefinitionIncompatible", "message": "osType differs: Windows != Linux"}
    assert arm.calls.count("ensure_image_definition") == 1


def test_a_version_deleted_during_replication_fails_with_its_bookkeeping() -> None:
    gone = ReplicationSnapshot(version_id="v", provisioning_state="NotFound").model_dump(mode="json")
    arm = ScriptedArm(
        answers={"get_replication_status": [ScriptedArm().snapshot("v", "Creating", "Replicating", 10), gone]}
    )
    run = migrate(arm)
    assert (run.output["outcome"], run.output["error"]["code"]) == ("failed", "ReplicationFailed"), run.output
    assert "disappeared while replicating" in run.output["error"]["message"]
    assert arm.calls[-2:] == ["delete_image_version", "record_status"]
    assert arm.payloads[-1][1]["status"] == "failed"


# --- anything unexpected ends failed, with the bookkeeping done --------------------------------------------------
MALFORMED = [
    ("preflight", "run_preflight", {"bogus": 1}, "ValidationError"),
    ("version", "submit_image_version", {}, "KeyError: 'versionId'"),
    # the shape get_replication_status used to answer for a deleted version (issue 13, item 1)
    ("replicating", "get_replication_status", {"versionId": "v", "provisioning_state": "NotFound"}, "ValidationError"),
    ("validating", "validate_image_version", {"passed": True}, "KeyError: 'checks'"),
    ("deleting-source", "delete_source_image", {"reason": ""}, "KeyError: 'deleted'"),
]


@pytest.mark.parametrize(("phase", "activity", "answer", "mentions"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_a_malformed_activity_answer_fails_the_migration_cleanly(
    phase: str, activity: str, answer: Any, mentions: str
) -> None:
    arm = ScriptedArm(answers={activity: [answer]})
    run = migrate(arm)
    _assert_failed_cleanly(run, arm, phase, mentions)


@pytest.mark.parametrize("phase", [p.value for p in Phase if p not in (Phase.DONE, Phase.FAILED, Phase.CANCELED)])
def test_an_exception_in_any_phase_fails_the_migration_cleanly(phase: str, monkeypatch: pytest.MonkeyPatch) -> None:
    enter = orchestrator.MigrationRun.enter

    def entering(run: orchestrator.MigrationRun, target: Phase, **changes: Any) -> None:
        enter(run, target, **changes)
        if target.value == phase:
            raise RuntimeError(f"injected in {phase}")

    monkeypatch.setattr(orchestrator.MigrationRun, "enter", entering)
    if phase == "preflight":  # the first phase is not entered: break the first thing it does
        monkeypatch.setattr(orchestrator.MigrationRun, "acquire", _raise_injected)
    arm = ScriptedArm()
    run = migrate(
        arm,
        body={"deletionMode": "after-approval", "repointScaleSets": True},  # every phase is entered
        deliver_with={"record_status": [raised("approve", 1, START_NOW)]},
    )
    _assert_failed_cleanly(run, arm, phase, f"RuntimeError: injected in {phase}")


def _raise_injected(*_: Any, **__: Any) -> int:
    raise RuntimeError("injected in preflight")


def _assert_failed_cleanly(run: Run, arm: ScriptedArm, phase: str, mentions: str) -> None:
    assert (run.output["outcome"], run.output["phase"]) == ("failed", phase), run.output
    assert run.output["error"]["code"] == "UnexpectedError"
    assert mentions in run.output["error"]["message"]
    assert run.output["sourceDeleted"] is False
    created = phase in ("replicating", "validating")  # a version exists and was not validated
    assert ("delete_image_version" in arm.calls) is created
    assert run.output["versionRemoved"] is created
    assert arm.calls[-1] == "record_status"
    assert arm.payloads[-1][1]["status"] == "failed"
    assert run.custom_status["phase"] == "failed"


# --- custom status --------------------------------------------------------------------------------------------
def test_custom_status_stays_under_the_hosts_limit_with_50_regions_failing_with_long_messages() -> None:
    regions = tuple(sorted(PUBLIC_REGIONS, key=lambda r: (-len(r), r))[:50])
    details = "Replication failed: " + "the storage account quota for the target region was exceeded; " * 40
    failed = {
        "version_id": "v",
        "provisioning_state": "Failed",
        "aggregated_state": "Failed",
        "regions": [{"region": r, "state": "Failed", "progress": 37, "details": details} for r in regions],
    }
    progress = ScriptedArm(regions=regions).snapshot("v", "Creating", "Replicating", 37)
    # Failing again after each of the REGION_REPAIR_ATTEMPTS (2) retries.
    arm = ScriptedArm(regions=regions, answers={"get_replication_status": [progress, failed, failed, failed]})
    run = migrate(arm, body={"targetRegions": [{"name": r} for r in regions]})
    assert run.output["error"]["code"] == "ReplicationFailed"
    assert arm.calls.count("repair_replication") == 2
    assert run.output["repairs"] == dict.fromkeys(regions, 2)
    assert len(run.output["error"]["message"]) > 50 * len(details)  # the output keeps every region's details
    sizes = [utf16_size(status) for status in run.custom_statuses]
    assert max(sizes) < CUSTOM_STATUS_LIMIT_BYTES, max(sizes)
    final = run.custom_status
    assert final["message"].endswith(TRUNCATED)
    assert len(final["regions"]) == 50


# --- replays are silent -----------------------------------------------------------------------------------------
def test_the_boot_test_cleanup_does_not_run_again_on_every_replay(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDK closes the orchestrator's generator after each replay; a ``yield`` in a ``finally`` then runs on
    every close ("generator ignored GeneratorExit"). The cleanup must only run when the migration gets there."""
    unraisable: list[Any] = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    arm = ScriptedArm(answers={"get_boot_test": [{"state": "Creating"}] * 3})
    run = migrate(arm, body={"bootTest": True})
    gc.collect()
    assert run.output["outcome"] == "succeeded", run.output
    assert arm.calls.count("remove_boot_test") == 1
    assert [str(u.exc_value) for u in unraisable] == []
