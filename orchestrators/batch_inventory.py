"""``batch_inventory``: what a batch covers, written once. Its output is the batch's inventory document.

Lists the scope (filters applied), skips the images already migrated or being migrated, refuses invalid requests
and numbers the rest ``q`` = 0, 1, ... in image-ID order (``migration.batch.build_inventory``). A sub-orchestration
of ``migrate_batch`` under ``binv-<key>``: its output stays in the task hub for the batch's items and its report to
read slice by slice, while the batch itself carries only a cursor into it. A scope that cannot be listed is an
``error`` in the document (nothing is started); anything unexpected fails this instance, and so the batch.
"""

from __future__ import annotations

from typing import Any

import azure.durable_functions as df

from migration.batch import build_inventory
from migration.errors import MigrationError
from migration.fleet import FleetBody
from migration.settings import Settings
from migration.status import ErrorInfo
from orchestrators.fleet_steps import Steps, list_images, survey

bp = df.Blueprint()


@bp.orchestration_trigger(context_name="context")
def batch_inventory(context: df.DurableOrchestrationContext) -> Steps:
    data = context.get_input()
    settings = Settings.model_validate(data["settings"])
    body = FleetBody.model_validate(data["fleet"])
    options: dict[str, Any] = data["options"]
    context.set_custom_status({"state": "listing"})
    try:
        items = yield from list_images(context, body, settings)
        candidates = yield from survey(context, items, options, settings, origin="batch")
    except MigrationError as exc:  # the scope could not be listed: nothing will be started
        error = ErrorInfo(code=exc.code, message=exc.message)
        return {"entries": [], "images": 0, "queued": 0, "error": error.model_dump(mode="json", by_alias=True)}
    document = build_inventory(candidates)
    document["classifiedAt"] = context.current_utc_datetime.isoformat()  # when the requests were resolved
    context.set_custom_status({"state": "listed", "images": document["images"], "queued": document["queued"]})
    return document
