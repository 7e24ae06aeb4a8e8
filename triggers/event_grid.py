"""Tag trigger: Event Grid tells us an image (or its tags) was written; the tags decide whether to migrate.

Events carry no tags, arrive at least once and out of order, and include our own tag writes. So the handler
re-reads the image's tags and lets the tag contract decide (``migration.tags.decide``); the deterministic
instance ID collapses whatever still gets through. Bad tag values are answered on the image
(``migration-status=failed`` + ``migration-reason``) and the event is acknowledged: raising would only make
Event Grid redeliver the same bad tags. The event's principal (who wrote the tags) decides whether the migration
may delete its source without approval (``migration.authorization``); an image the app may not read is ignored.
"""

from __future__ import annotations

import asyncio
import logging
import os
from datetime import UTC, datetime

import azure.durable_functions as df
import azure.functions as func

from activities._arm import own_identity
from activities.lookups import read_image_tags, resolve_gallery_name
from activities.planning import merge_tags
from migration.authorization import authorize_tag_request, deletion_authority, writer_from_event
from migration.errors import InvalidRequest, PermissionDenied
from migration.events import image_from_event
from migration.instance_ids import migration_instance_id
from migration.request import resolve_request
from migration.settings import Settings
from migration.tags import MigrationStatus, TagNames, body_from_tags, decide, parse_trigger_value, status_tags
from triggers.starter import hold_for_untrusted_write, start_migration

logger = logging.getLogger(__name__)

bp = df.Blueprint()


@bp.event_grid_trigger(arg_name="event")
@bp.durable_client_input(client_name="client")
async def on_image_tagged(event: func.EventGridEvent, client: df.DurableOrchestrationClient) -> None:
    data = event.get_json()
    decision = image_from_event(event.event_type, event.subject, data)
    if decision.image is None:
        logger.info("ignored %s: %s", event.id, decision.reason)
        return
    image = decision.image
    settings = Settings.from_env(os.environ)
    # Who wrote the tags decides whether the migration may delete its source without approval.
    authority = deletion_authority(
        writer_from_event(data, image),
        allowed=settings.allowed_tag_principal_ids,
        own=await asyncio.to_thread(own_identity),
    )
    try:
        tags = await asyncio.to_thread(read_image_tags, image)
    except PermissionDenied as exc:  # outside the app's role scopes: redelivering would change nothing
        logger.warning("ignored %s: the app may not read %s: %s", event.id, image, exc.message)
        return
    if tags is None:
        logger.info("ignored %s: %s no longer exists", event.id, image)
        return
    names = TagNames.from_settings(settings)
    verdict = decide(tags, names)
    if not verdict.start:
        logger.info("ignored %s for %s: %s", event.id, image, verdict.reason)
        await hold_for_untrusted_write(client, image, authority)
        return
    try:
        ref = parse_trigger_value(verdict.trigger_value, settings)
        gallery = ref.gallery_id
        if gallery is None:
            gallery = await asyncio.to_thread(resolve_gallery_name, image, ref.name or "")
        body = body_from_tags(image, tags, names, gallery=gallery, settings=settings)
        request = resolve_request(body, settings, now=datetime.now(UTC), origin="tag")
    except InvalidRequest as exc:
        reason = exc.message + "".join(f"; {e['field']}: {e['message']}" for e in exc.errors)
        logger.warning("bad migration tags on %s: %s", image, reason)
        failed = status_tags(
            names,
            MigrationStatus.FAILED,
            migration_id=migration_instance_id(image),
            request_hash=verdict.request_hash,
            reason=f"invalid tags: {reason}",
        )
        await asyncio.to_thread(merge_tags, str(image), failed, doing="recording invalid migration tags")
        return
    request = authorize_tag_request(request.model_copy(update={"request_hash": verdict.request_hash}), authority)
    result = await start_migration(client, request)
    if result.started:
        logger.info(
            "event %s (%s) started migration %s: %s", event.id, event.subject, result.instance_id, authority.reason
        )
    else:
        logger.info("ignored %s: migration %s is %s", event.id, result.instance_id, result.runtime_status)
        await hold_for_untrusted_write(client, image, authority)
