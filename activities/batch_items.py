"""A batch's Durable bookkeeping (no ARM): start its items, tell it an item ended, look at its items.

All idempotent (Durable runs activities at least once):

- ``start_batch_items``: start ``migrate_batch_item`` under each item's ID unless that instance exists in any state
  (the host would replace a completed one, i.e. migrate the image again);
- ``notify_batch``: raise the item's ``image-<q>`` event on the batch; a batch that has ended is left alone;
- ``batch_item_states``: the items of the given ``q`` that have ended, with their outcome (a safety net for a
  notification that never arrived).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import azure.durable_functions as df

from activities.inventory import raise_refused
from migration.batch import item_input, item_instance_id
from migration.settings import Settings

logger = logging.getLogger(__name__)

bp = df.Blueprint()

ITEM_ORCHESTRATOR = "migrate_batch_item"
_TERMINAL = ("Completed", "Failed", "Terminated")


async def _runtime(client: df.DurableOrchestrationClient, instance_id: str) -> tuple[str | None, Any]:
    status = await client.get_status(instance_id)
    if not status or status.runtime_status is None:
        return None, None
    return str(status.runtime_status.name), status.output


@bp.activity_trigger(input_name="payload")
@bp.durable_client_input(client_name="client")
async def start_batch_items(payload: dict[str, Any], client: df.DurableOrchestrationClient) -> dict[str, Any]:
    """``{"batchId", "classifiedAt", "settings", "options", "items": [{"entry", "runId"}]}`` ->
    ``{"started": [q], "existing": [q]}``."""
    batch_id = payload["batchId"]
    settings = Settings.model_validate(payload["settings"])
    classified_at = datetime.fromisoformat(payload["classifiedAt"].replace("Z", "+00:00"))
    started, existing = [], []
    for item in payload["items"]:
        entry = item["entry"]
        instance_id = item_instance_id(batch_id, entry["q"])
        runtime, _ = await _runtime(client, instance_id)
        if runtime is not None:  # an earlier attempt of this activity started it
            existing.append(entry["q"])
            continue
        data = item_input(
            batch_id,
            entry,
            run_id=item["runId"],
            options=payload["options"],
            settings=settings,
            classified_at=classified_at,
        )
        await client.start_new(ITEM_ORCHESTRATOR, instance_id, data)
        started.append(entry["q"])
    logger.info("batch %s: started items %s (%d already existed)", batch_id, started, len(existing))
    return {"started": started, "existing": existing}


@bp.activity_trigger(input_name="payload")
@bp.durable_client_input(client_name="client")
async def notify_batch(payload: dict[str, Any], client: df.DurableOrchestrationClient) -> dict[str, Any]:
    """``{"batchId", "event", "result"}`` -> ``{"delivered": bool}`` (False: the batch has ended or is gone)."""
    try:
        await client.raise_event(payload["batchId"], payload["event"], payload["result"])
    except Exception as exc:  # the SDK raises a plain Exception; "gone" and "not found" are answers
        if raise_refused(str(exc)) is None:
            raise
        logger.info("batch %s did not take %s: %s", payload["batchId"], payload["event"], exc)
        return {"delivered": False}
    return {"delivered": True}


@bp.activity_trigger(input_name="payload")
@bp.durable_client_input(client_name="client")
async def batch_item_states(payload: dict[str, Any], client: df.DurableOrchestrationClient) -> dict[str, Any]:
    """``{"batchId", "qs"}`` -> ``{"ended": {q: {"runtimeStatus", "outcome", "phase"}}}`` for items that ended."""
    ended: dict[str, dict[str, Any]] = {}
    for q in payload["qs"]:
        runtime, output = await _runtime(client, item_instance_id(payload["batchId"], q))
        if runtime in _TERMINAL:
            row = output if runtime == "Completed" and isinstance(output, dict) else {}
            ended[str(q)] = {
                "runtimeStatus": runtime,
                "outcome": row.get("outcome") or "failed",
                "phase": row.get("phase"),
            }
    return {"ended": ended}
