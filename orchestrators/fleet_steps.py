"""Steps shared by the fleet orchestrators (``plan_migrations``, ``migrate_batch``): list, survey, classify.

Generators to ``yield from`` inside an orchestrator: deterministic, time only from the context.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import azure.durable_functions as df

from migration.budget import listing_need
from migration.errors import MigrationError, UnexpectedError
from migration.fleet import Candidate, FleetBody, ImageItem, classify, gallery_for, instance_id_of
from migration.resource_ids import ImageId
from migration.settings import Settings
from migration.status import ErrorInfo
from orchestrators.steps import Steps, call, iso

# Reads a listing takes per subscription or group it lists (pages are not known beforehand): an estimate.
LISTING_READS = 5

__all__ = ["Steps", "call", "failure_info", "iso", "list_images", "survey"]


def failure_info(exc: BaseException) -> ErrorInfo:
    """What a plan or batch reports when it ends on ``exc``: a domain error as it is, anything else (a bug) as
    ``UnexpectedError`` with the exception's type and text."""
    failure = exc if isinstance(exc, MigrationError) else UnexpectedError(f"{type(exc).__name__}: {exc}")
    return ErrorInfo(code=failure.code, message=failure.message)


def list_images(
    context: df.DurableOrchestrationContext,
    body: FleetBody,
    settings: Settings,
    *,
    on_wait: Callable[[str], None] | None = None,
) -> Steps:
    """The images of the scope (filters applied), or the one named image, as :class:`ImageItem` s (``on_wait``: what
    the listing waits for, ``waiting for ARM budget until ...`` or a retry; an empty message when it goes on)."""
    payload: dict[str, Any] = {"filters": body.filters.model_dump(mode="json", by_alias=True)}
    if body.source_image_id:
        payload["imageIds"] = [body.source_image_id]
        need = listing_need([ImageId.parse(body.source_image_id).subscription_id], reads_each=1)
    else:
        assert body.scope is not None
        payload["scope"] = body.scope.model_dump(mode="json", by_alias=True)
        need = listing_need([sub for sub, _ in body.scope.listings()], reads_each=LISTING_READS)
    listed = yield from call(context, "list_scope_images", payload, settings, need=need, on_retry=on_wait)
    return [ImageItem.model_validate(i) for i in listed["images"]]


def survey(
    context: df.DurableOrchestrationContext,
    items: list[ImageItem],
    options: dict[str, Any],
    settings: Settings,
    *,
    origin: str,
    skip_migrated: bool = True,
    on_wait: Callable[[str], None] | None = None,
) -> Steps:
    """Classify the images: skip those already migrated (versions in the gallery, status tag) or being migrated
    (active per-image instance), refuse invalid requests, migrate the rest."""
    if not items:
        return []
    sources: dict[str, list[str]] = {}
    if skip_migrated:
        gallery = gallery_for(options, settings)
        need = listing_need([gallery.subscription_id], reads_each=LISTING_READS)
        payload = {"galleryId": str(gallery)}
        listed = yield from call(context, "list_gallery_sources", payload, settings, need=need, on_retry=on_wait)
        sources = listed["sources"]
    ids = [i for i in (instance_id_of(item) for item in items) if i]
    active = (yield from call(context, "get_active_migrations", {"instanceIds": ids}, settings, on_retry=on_wait))[
        "active"
    ]
    candidates: list[Candidate] = classify(
        items,
        options,
        settings,
        now=context.current_utc_datetime,
        origin=origin,
        sources=sources,
        active=active,
        skip_migrated=skip_migrated,
    )
    return candidates
