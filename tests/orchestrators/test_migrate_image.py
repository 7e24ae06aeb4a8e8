"""``migrate_image`` replayed by the devhost's pure engine against scripted activities (no servers, no clock).

Given what the activities answer, the orchestrator must take these steps and produce this outcome; replaying its
own history must give the same actions; its history must stay small.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest

from devhost import engine
from devhost.engine import Outcome
from migration.budget import BudgetSpec, BudgetState, Level, step_needs
from migration.errors import ArmRequestFailed, TransientArmError
from migration.settings import Settings
from orchestrators.migrate_image import FIRST_BURST
from tests.app_functions import functions
from tests.devhost.minihost import START, MiniHost, entity_handles_of, handles_of
from tests.migration.factories import request, settings
from tests.orchestrators.scripted_arm import APP_SETTINGS, ScriptedArm


class _App:
    """What ``handles_of`` needs: the app's functions, indexed once per process."""

    @staticmethod
    def get_functions() -> list[Any]:
        return functions()


def migrate(arm: ScriptedArm, *, raise_events: Any = (), app_settings: Settings = APP_SETTINGS, **body: Any) -> Any:
    host = MiniHost(handles_of(_App), arm.activities(), entities=entity_handles_of(_App))
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


def scheduled(run: Any) -> list[int]:
    """EventTypes of the scheduling events, in order: entity messages (14), timers (10), activities (4)."""
    return [e["EventType"] for e in run.history if e["EventType"] in (4, 10, 14)]


def test_the_first_burst_waits_for_its_arm_grant_on_a_durable_timer() -> None:
    """The first thing a migration does is ask the ARM budget for its first burst of requests; with room it goes
    straight to preflight, with the budget booked ahead it waits on a durable timer until its grant is due."""
    immediate = migrate(ScriptedArm())
    assert scheduled(immediate)[:2] == [14, 4]  # the grant, then preflight

    host = MiniHost(handles_of(_App), ScriptedArm().activities(), entities=entity_handles_of(_App))
    gallery = request().gallery.subscription_id.lower()
    booked = BudgetState(granted={"reads": Level(tokens=-960.0, at=START)})
    host.entity_states[f"@arm_budget@{gallery}"] = (True, json.dumps(booked.model_dump(mode="json")))
    data = {"request": request().model_dump(mode="json"), "settings": APP_SETTINGS.model_dump(mode="json")}
    waited = host.run("migrate_image", data, instance_id="mig-test-0000000000000000")
    assert scheduled(waited)[:3] == [14, 10, 4]  # the grant, a durable timer, then preflight
    timer = next(e for e in waited.history if e["EventType"] == 10)
    lane = BudgetSpec().granted_lane("reads")
    asked = request()
    needs = step_needs(list(FIRST_BURST), image_subscription=asked.image.subscription_id, gallery_subscription=gallery)
    due = START + timedelta(seconds=(960 + needs[gallery].reads) / lane.per_second)  # the debt, then its own reads
    assert abs((datetime.fromisoformat(timer["FireAt"][:26] + "+00:00") - due).total_seconds()) < 0.01
    messages = [status.get("message") for status in waited.custom_statuses]
    assert f"waiting for ARM budget until {timer['FireAt'][:19]}Z" in messages
    assert waited.output["outcome"] == immediate.output["outcome"] == "succeeded"


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
    # six reads until one sees no progress for REGION_STALL_SECONDS, one after the retry, then completed
    stuck = [arm.snapshot("v", "Creating", "Replicating", 40)] * 7
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


def test_what_the_trigger_read_serves_preflight_whatever_the_trigger_s_clock() -> None:
    """The trigger's ``readAt`` comes from another clock (wall time under the devhost's virtual clock, another machine
    in Azure): the read's age is measured from the migration's first episode, so a read the trigger made right before
    starting it serves preflight even when the two clocks disagree by years."""
    source = {"id": "img", "name": "web-01"}
    arm = ScriptedArm()
    host = MiniHost(handles_of(_App), arm.activities(), entities=entity_handles_of(_App))
    data = {
        "request": request().model_dump(mode="json"),
        "settings": APP_SETTINGS.model_dump(mode="json"),
        "known": {"source": source, "galleryLocation": "westus2", "readAt": "2001-01-01T00:00:00+00:00"},
    }
    host.run("migrate_image", data, instance_id="mig-test-0000000000000000")
    preflight = next(payload for name, payload in arm.payloads if name == "run_preflight")
    assert preflight["known"] == {"source": source, "galleryLocation": "westus2"}
