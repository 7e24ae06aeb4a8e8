"""What a migration tells the world: its custom status while running, its output when done, the summary API."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from migration.source import Check

# Durable runtime statuses of an instance that still owns its ID (the host refuses a second start under it).
ACTIVE_RUNTIME_STATUSES = frozenset({"Running", "Pending", "Suspended", "ContinuedAsNew"})


class Phase(StrEnum):
    PREFLIGHT = "preflight"
    DEFINITION = "definition"
    VERSION = "version"
    REPLICATING = "replicating"
    VALIDATING = "validating"
    AWAITING_APPROVAL = "awaiting-approval"
    DELETING_SOURCE = "deleting-source"
    DONE = "done"
    FAILED = "failed"
    CANCELED = "canceled"


class Outcome(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"


class _Camel(BaseModel):
    model_config = ConfigDict(populate_by_name=True, alias_generator=to_camel, serialize_by_alias=True)


class Progress(_Camel):
    """The orchestrator's custom status (camelCase JSON), updated at each phase and replication poll."""

    phase: Phase
    source_image_id: str
    run_id: str = ""
    definition_id: str | None = None
    version_id: str | None = None
    regions: dict[str, dict[str, Any]] = Field(default_factory=dict)
    message: str = ""
    polls: int = 0
    next_poll_at: str | None = None
    phase_started_at: str | None = None
    notes: list[str] = Field(default_factory=list)  # preflight's (e.g. the image is near ARM's tag limit)


class ErrorInfo(_Camel):
    code: str
    message: str


class MigrationOutcome(_Camel):
    """The orchestrator's output."""

    outcome: Outcome
    phase: Phase  # the phase reached (done, or where it failed/was canceled)
    source_image_id: str
    definition_id: str | None = None
    version_id: str | None = None
    regions: dict[str, str] = Field(default_factory=dict)
    validation: list[Check] = Field(default_factory=list)
    source_deleted: bool = False
    source_kept_reason: str | None = None
    version_removed: bool = False
    error: ErrorInfo | None = None
    phase_seconds: dict[str, float] = Field(default_factory=dict)
    started_at: str | None = None
    finished_at: str | None = None
    notes: list[str] = Field(default_factory=list)


def summarize(status: dict[str, Any]) -> dict[str, Any]:
    """Our summary of one instance from its Durable status JSON (``GET /api/migrations/{id}``)."""
    raw_custom, raw_output = status.get("customStatus"), status.get("output")
    custom: dict[str, Any] = raw_custom if isinstance(raw_custom, dict) else {}
    output: dict[str, Any] | None = raw_output if isinstance(raw_output, dict) else None
    current: dict[str, Any] = output if output is not None else custom
    runtime = status.get("runtimeStatus")
    live_regions: dict[str, Any] = custom.get("regions") or {}
    summary: dict[str, Any] = {
        "id": status.get("instanceId"),
        "runtimeStatus": runtime,
        "phase": current.get("phase"),
        "sourceImageId": current.get("sourceImageId"),
        "definitionId": current.get("definitionId"),
        "versionId": current.get("versionId"),
        "regions": live_regions
        if output is None
        else {  # the final states, with the replica counts and progress the last custom status showed
            name: {**(live_regions.get(name) or {}), "state": state}
            for name, state in output.get("regions", {}).items()
        },
        "message": custom.get("message", ""),
        "phaseStartedAt": custom.get("phaseStartedAt") if output is None else None,
        "notes": current.get("notes") or [],
        "createdTime": status.get("createdTime"),
        "lastUpdatedTime": status.get("lastUpdatedTime"),
    }
    if output is not None:
        summary["result"] = output
        summary["outcome"] = output.get("outcome")
        summary["error"] = output.get("error")
    elif runtime == "Failed":
        summary["outcome"] = "failed"
        summary["error"] = {"code": "OrchestrationFailed", "message": str(status.get("output"))}
    elif runtime == "Terminated":
        summary["outcome"] = "canceled"
        summary["error"] = {"code": "Terminated", "message": str(status.get("output"))}
    return summary
