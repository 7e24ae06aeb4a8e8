"""Activities that answer like ARM would, for orchestrator tests: no servers, no clock, every call recorded.

``polls_until_done``: replication reads before Completed. ``promotion_reads``: reads that still show the version
``Updating`` after the promotion PATCH. ``answers``: per activity, answers used instead of the normal ones (one per
call, in order; an exception is raised), e.g. a malformed result or the version gone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from migration.plan import MigrationPlan, build_plan
from migration.request import MigrationRequest
from tests.migration.factories import settings, source

APP_SETTINGS = settings()

ACTIVITIES = (
    "run_preflight",
    "ensure_image_definition",
    "submit_image_version",
    "get_replication_status",
    "repair_replication",
    "validate_image_version",
    "promote_image_version",
    "start_boot_test",
    "get_boot_test",
    "remove_boot_test",
    "repoint_scale_sets",
    "delete_source_image",
    "record_status",
    "delete_image_version",
)


class ScriptedArm:
    def __init__(
        self,
        *,
        polls_until_done: int = 3,
        promotion_reads: int = 0,
        answers: dict[str, list[Any]] | None = None,
        regions: tuple[str, ...] = ("westus2",),
    ) -> None:
        self.calls: list[str] = []
        self.payloads: list[tuple[str, Any]] = []
        self.polls_until_done = polls_until_done
        self.promotion_reads = promotion_reads
        self.answers = {name: list(items) for name, items in (answers or {}).items()}
        self.regions = regions
        self.polls = 0
        self.promoted = False

    def activities(self) -> dict[str, Callable[[Any], Any]]:
        return {name: self._recording(name) for name in ACTIVITIES}

    def _recording(self, name: str) -> Callable[[Any], Any]:
        def call(payload: Any) -> Any:
            self.calls.append(name)
            self.payloads.append((name, payload))
            pending = self.answers.get(name)
            if pending:
                answer = pending.pop(0)
                if isinstance(answer, BaseException):
                    raise answer
                return answer
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
        if self.promoted:
            self.promotion_reads -= 1
            state = "Updating" if self.promotion_reads >= 0 else "Succeeded"
            return self.snapshot(payload["versionId"], state, "Completed", 100)
        self.polls += 1
        done = self.polls >= self.polls_until_done
        progress = 100 if done else 30 * self.polls
        return self.snapshot(
            payload["versionId"], "Succeeded" if done else "Creating", "Completed" if done else "Replicating", progress
        )

    def snapshot(self, version_id: str, state: str, region_state: str, progress: int) -> dict[str, Any]:
        return {
            "version_id": version_id,
            "provisioning_state": state,
            "aggregated_state": "Completed" if region_state == "Completed" else "InProgress",
            "regions": [{"region": r, "state": region_state, "progress": progress} for r in self.regions],
        }

    def repair_replication(self, payload: dict[str, Any]) -> dict[str, Any]:
        return {"versionId": payload["versionId"], "regions": payload["regions"]}

    def validate_image_version(self, payload: dict[str, Any]) -> dict[str, Any]:
        return {"checks": [{"name": "version-succeeded", "passed": True, "reason": ""}], "passed": True}

    def promote_image_version(self, payload: dict[str, Any]) -> dict[str, Any]:
        self.promoted = True
        return {"versionId": payload["versionId"], "excludeFromLatest": False}

    def start_boot_test(self, payload: dict[str, Any]) -> dict[str, Any]:
        return {"subscription": "s", "group": "rg-boot", "vm": "vm-boot"}

    def get_boot_test(self, payload: dict[str, Any]) -> dict[str, Any]:
        return {"state": "Succeeded"}

    def remove_boot_test(self, payload: dict[str, Any]) -> dict[str, Any]:
        return {"removed": True}

    def repoint_scale_sets(self, payload: dict[str, Any]) -> dict[str, Any]:
        return {"target": payload["versionId"], "scaleSets": []}

    def delete_source_image(self, payload: dict[str, Any]) -> dict[str, Any]:
        return {"deleted": True, "reason": "", "checks": []}

    def record_status(self, payload: dict[str, Any]) -> dict[str, Any]:
        return {"imageTagged": True, "versionTagged": True}

    def delete_image_version(self, payload: dict[str, Any]) -> dict[str, Any]:
        return {"versionId": payload["versionId"], "deleted": True}
