"""Starting a migration, whatever the entry point: one instance per image, duplicates collapse."""

from __future__ import annotations

import logging
import os
import uuid
from dataclasses import dataclass
from typing import Any

import azure.durable_functions as df

from migration.authorization import DeletionAuthority, approval_text
from migration.instance_ids import migration_instance_id
from migration.request import MigrationRequest
from migration.resource_ids import ImageId
from migration.settings import Settings
from migration.status import ACTIVE_RUNTIME_STATUSES
from orchestrators.migrate_image import HOLD_EVENT

logger = logging.getLogger(__name__)

ORCHESTRATOR = "migrate_image"
ACTIVE = ACTIVE_RUNTIME_STATUSES


@dataclass(frozen=True)
class StartResult:
    instance_id: str
    started: bool
    runtime_status: str | None = None  # of the instance that was already active


async def runtime_status(client: df.DurableOrchestrationClient, instance_id: str) -> str | None:
    status = await client.get_status(instance_id)
    if not status or status.runtime_status is None:
        return None
    return str(status.runtime_status.name)


async def start_migration(
    client: df.DurableOrchestrationClient, request: MigrationRequest, *, known: dict[str, Any] | None = None
) -> StartResult:
    """Start ``migrate_image`` under the image's instance ID unless a migration of that image is active.

    The host refuses to start an ID that is running, so two concurrent starts (duplicate Event Grid deliveries)
    cannot both win; the loser sees the winner's status. ``known``: what the starter read from ARM just now (the
    image, the gallery's region) and when, which preflight uses instead of reading it again while it is fresh."""
    instance_id = migration_instance_id(request.image)
    current = await runtime_status(client, instance_id)
    if current in ACTIVE:
        return StartResult(instance_id, started=False, runtime_status=current)
    settings = Settings.from_env(os.environ)
    payload = {
        "request": request.model_dump(mode="json"),
        "settings": settings.model_dump(mode="json"),
        "runId": uuid.uuid4().hex,  # this run, unlike the instance ID, is never reused
        **({"known": known} if known else {}),
    }
    try:
        await client.start_new(ORCHESTRATOR, instance_id, payload)
    except Exception:
        current = await runtime_status(client, instance_id)
        if current in ACTIVE:
            return StartResult(instance_id, started=False, runtime_status=current)
        raise
    logger.info("started migration %s of %s (%s)", instance_id, request.source_image_id, request.origin)
    return StartResult(instance_id, started=True)


async def hold_for_untrusted_write(
    client: df.DurableOrchestrationClient, image: ImageId, authority: DeletionAuthority
) -> None:
    """An untrusted principal wrote this image's tags: a running migration of it must not delete without approval.

    The running migration acted on tags re-read from ARM, which may include this write (events arrive late and out
    of order), so its trusted start no longer proves who asked for the deletion. Harmless when the migration
    already waits for approval, keeps its source or has deleted it."""
    if authority.trusted or authority.own_write:
        return
    instance_id = migration_instance_id(image)
    if await runtime_status(client, instance_id) not in ACTIVE:
        return
    await client.raise_event(instance_id, HOLD_EVENT, approval_text(authority))
    logger.warning("migration %s of %s put on hold: %s", instance_id, image, authority.reason)
