"""``migrate_image`` replayed by the devhost's pure engine against scripted activities (no servers, no clock).

Given what the activities answer, the orchestrator must take these steps and produce this outcome; replaying its
own history must give the same actions; its history must stay small.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest

from devhost import engine
from devhost.engine import Outcome
from migration.errors import ArmRequestFailed, TransientArmError
from migration.settings import Settings
from tests.app_functions import functions
from tests.devhost.minihost import MiniHost, handles_of
from tests.migration.factories import request, settings
from tests.orchestrators.scripted_arm import APP_SETTINGS, ScriptedArm


class _App:
    """What ``handles_of`` needs: the app's functions, indexed once per process."""

    @staticmethod
    def get_functions() -> list[Any]:
        return functions()


def migrate(arm: ScriptedArm, *, raise_events: Any = (), app_settings: Settings = APP_SETTINGS, **body: Any) -> Any:
    host = MiniHost(handles_of(_App), arm.activities())
    data = {"request": request(**body).model_dump(mode="json"), "settings": app_settings.model_dump(mode="json")}
    return host.run("migrate_image", data, instance_id="mig-test-0000000000000000", raise_events=raise_events)


def test_the_happy_path_takes_every_step_once() -> None:
    arm = ScriptedArm()
    run = migrate(arm)
    assert run.outcome is Outcome.COMPLETED
    assert run.output["outcome"] == "succeeded"
    assert run.output["sourceDeleted"] is True
    assert arm.calls == [
        "run_preflight",
        "ensure_image_definition",
        "submit_image_version",
        "get_replication_status",
        "get_replication_status",
        "get_replication_status",
        "validate_image_version",
        "promote_image_version",
        "get_replication_status",  # the promotion has taken effect
        "delete_source_image",
        "record_status",
    ]
    assert run.custom_status["phase"] == "done"


def test_transient_failures_are_retried_on_durable_timers_and_others_are_not() -> None:
    arm = ScriptedArm(answers={"ensure_image_definition": [TransientArmError("503"), TransientArmError("503")]})
    run = migrate(arm)
    assert run.output["outcome"] == "succeeded"
    assert arm.calls.count("ensure_image_definition") == 3

    arm = ScriptedArm(answers={"ensure_image_definition": [ArmRequestFailed("Conflict: identifier in use")]})
    run = migrate(arm)
    assert run.output["outcome"] == "failed"
    assert run.output["error"] == {"code": "ArmRequestFailed", "message": "Conflict: identifier in use"}
    assert arm.calls.count("ensure_image_definition") == 1
    assert "submit_image_version" not in arm.calls
    assert arm.calls[-1] == "record_status"


def test_a_cancel_that_arrives_first_stops_before_anything_is_created() -> None:
    arm = ScriptedArm()
    run = migrate(arm, raise_events=[("cancel", {"at": "now"})])
    assert run.output["outcome"] == "canceled"
    assert run.output["phase"] == "preflight"
    assert "ensure_image_definition" not in arm.calls
    assert "delete_source_image" not in arm.calls


def test_never_mode_does_not_even_look_at_deletion() -> None:
    arm = ScriptedArm()
    run = migrate(arm, deletionMode="never")
    assert run.output["sourceKeptReason"] == "deletion mode is 'never'"
    assert "delete_source_image" not in arm.calls


@pytest.mark.parametrize("polls", [1, 5, 12])
def test_history_stays_small(polls: int) -> None:
    run = migrate(ScriptedArm(polls_until_done=polls))
    # 8 events per poll (timer + read, two episodes; one more poll for the promotion), about 4 per other step.
    assert len(run.history) <= 45 + 8 * (polls + 1)


def test_replaying_the_history_gives_the_same_actions() -> None:
    """Deterministic: fed its own final history twice, the orchestrator answers byte for byte the same, and the
    answer is the finished outcome with no new work."""
    handle = handles_of(_App)["migrate_image"]
    data = {"request": request().model_dump(mode="json"), "settings": APP_SETTINGS.model_dump(mode="json")}
    run = migrate(ScriptedArm())
    execution = engine.Execution(
        "mig-test-0000000000000000", "migrate_image", "e1", json.dumps(json.dumps(data)), None, [], engine.EngineState()
    )
    execution.history = run.history
    last = datetime.fromisoformat(run.history[-1]["Timestamp"][:26].replace("Z", "") + "+00:00")
    body = engine.context_json(execution, [], last)
    first, second = handle(body), handle(body)
    assert first == second
    state = json.loads(first)
    assert state["isDone"] is True
    assert state["output"]["outcome"] == "succeeded"


def first_work(run: Any) -> int:
    """The EventType of the first scheduled item: a timer (10) or an activity (4)."""
    return next(e["EventType"] for e in run.history if e["EventType"] in (4, 10))


def test_starts_are_spread_by_a_stable_delay_before_any_arm_call() -> None:
    from migration.pacing import start_delay

    assert start_delay("mig-test-0000000000000000", 120) > 0
    spread = migrate(ScriptedArm(), app_settings=settings(START_SPREAD_SECONDS="120"))
    assert first_work(spread) == 10  # a durable timer first
    immediate = migrate(ScriptedArm(), app_settings=settings(START_SPREAD_SECONDS="0"))
    assert first_work(immediate) == 4  # straight to preflight
    assert spread.output["outcome"] == immediate.output["outcome"] == "succeeded"


def failed_region(arm: ScriptedArm, region: str = "eastus") -> dict[str, Any]:
    snapshot = arm.snapshot("v", "Failed", "Completed", 100)
    snapshot["regions"] = [*snapshot["regions"], {"region": region, "state": "Failed", "progress": 50}]
    return snapshot


def test_a_region_that_failed_is_retried_after_a_backoff_and_the_migration_goes_on() -> None:
    arm = ScriptedArm(regions=("westus2",))
    arm.answers = {"get_replication_status": [failed_region(arm)]}
    run = migrate(arm, app_settings=settings(REGION_REPAIR_DELAY_SECONDS="300"))
    assert run.output["outcome"] == "succeeded", run.output
    assert run.output["repairs"] == {"eastus": 1}
    assert arm.calls[3:5] == ["get_replication_status", "repair_replication"]
    [(_, payload)] = [p for p in arm.payloads if p[0] == "repair_replication"]
    assert payload["regions"] == ["eastus"]
    timers = [e for e in run.history if e["EventType"] == 10]  # TimerCreated
    assert len(timers) >= 2  # the first poll, then the 300 s backoff before the retry


def test_a_stalled_region_is_retried_and_without_retries_the_failure_is_immediate() -> None:
    arm = ScriptedArm()
    stuck = [arm.snapshot("v", "Creating", "Replicating", 40)] * 8  # reads at 60, 120, 240 ... 3840 s
    arm.answers = {"get_replication_status": list(stuck)}
    run = migrate(arm, app_settings=settings(REGION_STALL_SECONDS="3600"))
    assert run.output["outcome"] == "succeeded", run.output
    assert run.output["repairs"] == {"westus2": 1}
    arm = ScriptedArm(regions=("westus2",))
    arm.answers = {"get_replication_status": [failed_region(arm)]}
    run = migrate(arm, app_settings=settings(REGION_REPAIR_ATTEMPTS="0"))
    assert (run.output["outcome"], run.output["error"]["code"]) == ("failed", "ReplicationFailed")
    assert "repair" not in run.output["error"]["message"]
    assert "repair_replication" not in arm.calls


def test_replaying_a_repaired_migration_gives_the_same_actions() -> None:
    handle = handles_of(_App)["migrate_image"]
    data = {"request": request().model_dump(mode="json"), "settings": APP_SETTINGS.model_dump(mode="json")}
    arm = ScriptedArm()
    arm.answers = {"get_replication_status": [failed_region(arm)]}
    run = migrate(arm)
    execution = engine.Execution(
        "mig-test-0000000000000000", "migrate_image", "e1", json.dumps(json.dumps(data)), None, [], engine.EngineState()
    )
    execution.history = run.history
    last = datetime.fromisoformat(run.history[-1]["Timestamp"][:26].replace("Z", "") + "+00:00")
    body = engine.context_json(execution, [], last)
    assert handle(body) == handle(body)
    assert json.loads(handle(body))["output"]["repairs"] == {"eastus": 1}
