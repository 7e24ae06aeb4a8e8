"""``fleet_inventory``: what a plan or batch covers, written once. Its output is the inventory document.

Lists the scope (filters applied), or reads the one named image, skips the images already migrated or being migrated,
refuses invalid requests and numbers the rest ``q`` = 0, 1, ... in image-ID order (``migration.inventory``). A
sub-orchestration of ``migrate_batch`` (``binv-<key>``) or ``plan_migrations`` (``pinv-<key>``): its output stays
in the task hub, read slice by slice, while the plan or batch carries only a cursor into it. A scope that cannot be
listed is an ``error`` in the document (nothing is started or planned); anything unexpected fails this instance, and
so its plan or batch.

Input: ``{"fleet", "options", "settings", "origin": "batch"|"plan", "skipMigrated": bool}``.
"""

from __future__ import annotations

from typing import Any

import azure.durable_functions as df

from migration.errors import MigrationError
from migration.fleet import FleetBody
from migration.inventory import build_inventory
from migration.settings import Settings
from migration.status import ErrorInfo
from orchestrators.fleet_steps import Steps, list_images, survey

bp = df.Blueprint()


@bp.orchestration_trigger(context_name="context")
def fleet_inventory(context: df.DurableOrchestrationContext) -> Steps:
    data = context.get_input()
    settings = Settings.model_validate(data["settings"])
    body = FleetBody.model_validate(data["fleet"])
    options: dict[str, Any] = data["options"]
    context.set_custom_status({"state": "listing"})

    def waiting(message: str) -> None:  # a wait for ARM budget (or a retry) shows in the plan's or batch's summary
        context.set_custom_status({"state": "listing", **({"message": message} if message else {})})

    try:
        items = yield from list_images(context, body, settings, on_wait=waiting)
        candidates = yield from survey(
            context,
            items,
            options,
            settings,
            origin=data["origin"],
            skip_migrated=bool(data["skipMigrated"]),
            on_wait=waiting,
        )
    except MigrationError as exc:  # the scope could not be listed: nothing will be started or planned
        error = ErrorInfo(code=exc.code, message=exc.message)
        return {"entries": [], "images": 0, "queued": 0, "error": error.model_dump(mode="json", by_alias=True)}
    # The moment the requests were resolved: whoever builds an image's request again must get the same one.
    document = build_inventory(candidates, classified_at=context.current_utc_datetime.isoformat())
    context.set_custom_status({"state": "listed", "images": document["images"], "queued": document["queued"]})
    return document
