"""``migrate_image`` replayed by the devhost's pure engine against scripted activities (no servers, no clock).

Given what the activities answer, the orchestrator must take these steps and produce this outcome; replaying its
own history must give the same actions; its history must stay small.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest

from devhost import engine
from devhost.engine import Outcome
from migration.errors import ArmRequestFailed, TransientArmError
from migration.plan import MigrationPlan, build_plan
from migration.request import MigrationRequest
from migration.settings import Settings
from tests.app_functions import functions
from tests.devhost.minihost import MiniHost, handles_of
from tests.migration.factories import request, settings, source

APP_SETTINGS = settings()


class ScriptedArm:
    """Activities answering like ARM would, recording the calls; ``polls_until_done`` reads before Completed."""

    def __init__(self, *, polls_until_done: int = 3, failures: dict[str, list[Exception]] | None = None) -> None:
        self.calls: list[str] = []
        self.polls_until_done = polls_until_done
        self.failures = failures or {}
        self.polls = 0

    def activities(self) -> dict[str, Callable[[Any], Any]]:
        names = [
            "run_preflight",
            "ensure_image_definition",
            "submit_image_version",
            "get_replication_status",
            "validate_image_version",
            "promote_image_version",
            "delete_source_image",
            "record_status",
            "delete_image_version",
        ]
        return {name: self._recording(name) for name in names}

    def _recording(self, name: str) -> Callable[[Any], Any]:
        def call(payload: Any) -> Any:
            self.calls.append(name)
            pending = self.failures.get(name)
            if pending:
                raise pending.pop(0)
            return getattr(self, name)(payload)

        return call

    def run_preflight(self, payload: dict[str, Any]) -> dict[str, Any]:
        req = MigrationRequest.model_validate(payload["request"])
        plan = build_plan(
            req, source=source(), gallery_location="westus2", definition=None, versions=[], settings=APP_SETTINGS
        )
        return plan.model_dump(mode="json")

    def ensure_image_definition(self, payload: dict[str, Any]) -> dict[str, Any]:
        return {"definitionId": MigrationPlan.model_validate(payload["plan"]).definition_id, "created": True}

    def submit_image_version(self, payload: dict[str, Any]) -> dict[str, Any]:
        return {"versionId": MigrationPlan.model_validate(payload["plan"]).version_id, "adopted": False}

    def get_replication_status(self, payload: dict[str, Any]) -> dict[str, Any]:
        self.polls += 1
        done = self.polls >= self.polls_until_done
        progress = 100 if done else 30 * self.polls
        return {
            "version_id": payload["versionId"],
            "provisioning_state": "Succeeded" if done else "Creating",
            "aggregated_state": "Completed" if done else "InProgress",
            "regions": [{"region": "westus2", "state": "Completed" if done else "Replicating", "progress": progress}],
        }

    def validate_image_version(self, payload: dict[str, Any]) -> dict[str, Any]:
        return {"checks": [{"name": "version-succeeded", "passed": True, "reason": ""}], "passed": True}

    def promote_image_version(self, payload: dict[str, Any]) -> dict[str, Any]:
        return {"versionId": payload["versionId"], "excludeFromLatest": False}

    def delete_source_image(self, payload: dict[str, Any]) -> dict[str, Any]:
        return {"deleted": True, "reason": "", "checks": []}

    def record_status(self, payload: dict[str, Any]) -> dict[str, Any]:
        return {"imageTagged": True, "versionTagged": True}

    def delete_image_version(self, payload: dict[str, Any]) -> dict[str, Any]:
        return {"versionId": payload["versionId"], "deleted": True}


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
        "delete_source_image",
        "record_status",
    ]
    assert run.custom_status["phase"] == "done"


def test_transient_failures_are_retried_on_durable_timers_and_others_are_not() -> None:
    arm = ScriptedArm(failures={"ensure_image_definition": [TransientArmError("503"), TransientArmError("503")]})
    run = migrate(arm)
    assert run.output["outcome"] == "succeeded"
    assert arm.calls.count("ensure_image_definition") == 3

    arm = ScriptedArm(failures={"ensure_image_definition": [ArmRequestFailed("Conflict: identifier in use")]})
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
    # 8 events per poll (timer + read, two episodes), about 4 per other step.
    assert len(run.history) <= 45 + 8 * polls


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
