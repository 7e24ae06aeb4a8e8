"""Tag trigger: Event Grid tells us an image (or its tags) was written; the tags decide whether to migrate.

Events carry no tags, arrive at least once and out of order, and include our own tag writes. So the handler
re-reads the image's tags and lets the tag contract decide (``migration.tags.decide``); the deterministic
instance ID collapses whatever still gets through. Bad tag values are answered on the image
(``migration-status=failed`` + ``migration-reason``) and the event is acknowledged: raising would only make
Event Grid redeliver the same bad tags. Only transient ARM errors are raised (Event Grid then retries with
backoff); any other failure is logged and acknowledged, so no event can start a redelivery loop. The event's
principal (who wrote the tags) decides whether the migration may delete its source without approval
(``migration.authorization``); an image the app may not read is ignored. The app's own tag writes are acknowledged
without reading the image (they never start or hold anything). The read spends from the ARM budget's clients lane
(``triggers.budget``): with no room there, the event is answered with an error and Event Grid delivers it again
later; what was read travels to the migration, whose preflight then does not read it again.

Both delivery schemas are handled alike: an Event Grid subscription may use the CloudEvents 1.0 schema, and the
Python worker then hands the function a ``func.CloudEvent`` whatever the annotation says (azure-functions
``EventGridEventInConverter.decode`` switches on ``specversion``). ARM's resource events carry the same type,
subject, data and evidence in both.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import azure.durable_functions as df
import azure.functions as func

from activities._arm import own_identity
from activities.lookups import read_image, resolve_gallery_name
from activities.planning import merge_status_tags
from migration.authorization import authorize_tag_request, deletion_authority, writer_from_event
from migration.budget import Counts
from migration.errors import InvalidRequest, MigrationError, PermissionDenied
from migration.events import image_from_event
from migration.instance_ids import migration_instance_id
from migration.resource_ids import GalleryId, ImageId
from migration.settings import Settings
from migration.tags import (
    MigrationStatus,
    TagDecision,
    TagNames,
    decide,
    invalid_tags_reason,
    parse_trigger_value,
    request_from_tags,
    status_tags,
)
from triggers import budget
from triggers.starter import hold_for_untrusted_write, start_migration

logger = logging.getLogger(__name__)

bp = df.Blueprint()


def event_fields(event: func.EventGridEvent | func.CloudEvent) -> tuple[object, object, object]:
    """(event type, subject, data) of an Event Grid-schema or a CloudEvents 1.0 event."""
    if isinstance(event, func.CloudEvent):
        return event.type, event.subject, event.get_json()
    return event.event_type, event.subject, event.get_json()


def acknowledged_unless_transient(handler: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
    """Raise only what a redelivery can fix (throttling, an outage: Event Grid retries with backoff); log and
    acknowledge every other failure, so no event can start a redelivery loop."""

    @functools.wraps(handler)
    async def wrapper(event: func.EventGridEvent, client: df.DurableOrchestrationClient) -> None:
        try:
            await handler(event, client)
        except MigrationError as exc:
            if exc.retryable:
                raise
            logger.error("event %s acknowledged without action: %s: %s", event.id, exc.code, exc.message)

    return wrapper


@bp.event_grid_trigger(arg_name="event")
@bp.durable_client_input(client_name="client")
@acknowledged_unless_transient
async def on_image_tagged(event: func.EventGridEvent, client: df.DurableOrchestrationClient) -> None:
    event_type, subject, data = event_fields(event)
    decision = image_from_event(event_type, subject, data)
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
    if authority.own_write:  # our own status tags: nothing to start, nobody to hold
        logger.info("ignored %s: the app's own write on %s", event.id, image)
        return
    subscription = image.subscription_id
    await budget.admit(client, subscription, Counts(reads=1))
    read_at = datetime.now(UTC)
    try:
        source = await asyncio.to_thread(read_image, image)
    except PermissionDenied as exc:  # outside the app's role scopes: redelivering would change nothing
        logger.warning("ignored %s: the app may not read %s: %s", event.id, image, exc.message)
        return
    finally:
        await budget.spent(client, subscription, Counts(reads=1))
    if source is None:
        logger.info("ignored %s: %s no longer exists", event.id, image)
        return
    tags = source.tags
    names = TagNames.from_settings(settings)
    verdict = decide(tags, names)
    if not verdict.start:
        logger.info("ignored %s for %s: %s", event.id, image, verdict.reason)
        await hold_for_untrusted_write(client, image, authority)
        return
    known: dict[str, object] = {"source": source.model_dump(mode="json"), "readAt": read_at.isoformat()}
    try:
        gallery, location = await _target_gallery(client, image, verdict.trigger_value, names, settings)
        request = request_from_tags(image, tags, names, gallery=gallery, settings=settings, now=datetime.now(UTC))
    except InvalidRequest as exc:
        await _answer_invalid_tags(client, image, names, verdict, invalid_tags_reason(exc))
        return
    if location:
        known["galleryLocation"] = location
    request = authorize_tag_request(request.model_copy(update={"request_hash": verdict.request_hash}), authority)
    result = await start_migration(client, request, known=known)
    if result.started:
        logger.info(
            "event %s (%s) started migration %s: %s", event.id, event.subject, result.instance_id, authority.reason
        )
    else:
        logger.info("ignored %s: migration %s is %s", event.id, result.instance_id, result.runtime_status)
        await hold_for_untrusted_write(client, image, authority)


async def _target_gallery(
    client: df.DurableOrchestrationClient, image: ImageId, trigger_value: str, names: TagNames, settings: Settings
) -> tuple[GalleryId, str | None]:
    """The gallery the trigger tag names, and its region when a name was resolved (preflight then need not read
    the gallery); :class:`InvalidRequest` naming the trigger tag if there is none."""
    try:
        ref = parse_trigger_value(trigger_value, settings)
        if ref.gallery_id is not None:
            return ref.gallery_id, None
        resolved = await asyncio.to_thread(resolve_gallery_name, image, ref.name or "")
        await budget.spent(client, image.subscription_id, Counts(reads=resolved.requests))
        return resolved.id, resolved.location
    except InvalidRequest as exc:
        raise InvalidRequest("invalid migration tags", [{"field": names.trigger, "message": exc.message}]) from None


async def _answer_invalid_tags(
    client: df.DurableOrchestrationClient, image: ImageId, names: TagNames, verdict: TagDecision, reason: str
) -> None:
    """One answer on the image (``migration-status=failed`` with the reason); its hash makes the event our write
    raises, and every redelivery, start nothing."""
    logger.warning("bad migration tags on %s: %s", image, reason)
    failed = status_tags(
        names,
        MigrationStatus.FAILED,
        migration_id=migration_instance_id(image),
        request_hash=verdict.request_hash,
        reason=reason,
    )
    try:
        await asyncio.to_thread(merge_status_tags, str(image), failed, doing="recording invalid migration tags")
    finally:
        await budget.spent(client, image.subscription_id, Counts(writes=1))
