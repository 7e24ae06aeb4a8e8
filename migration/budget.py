"""The ARM read budget of a batch: how far apart one migration's replication polls must be.

ARM refills reads per subscription at a documented rate; hundreds of migrations polling at once could
exhaust it. A batch runs at most ``concurrency`` children; each child owns a slot, and a slot never polls
faster than the floor, so the app's replication polls stay within ``ARM_READ_BUDGET_PER_MINUTE`` in any minute.
"""

from __future__ import annotations

import hashlib
import math

from migration.errors import InvalidRequest
from migration.settings import Settings


def poll_floor_seconds(*, budget_per_minute: int, concurrency: int) -> float:
    """Shortest interval between two replication polls of one migration so that ``concurrency`` migrations
    stay within ``budget_per_minute`` polls in any minute.

    Each running child owns a slot; a slot's polls are at least the floor apart (a new child's first poll comes
    at least the floor after its start), so a slot polls at most ``budget // concurrency`` times per minute."""
    if concurrency < 1 or budget_per_minute < concurrency:
        raise InvalidRequest(
            f"a concurrency of {concurrency} needs an ARM read budget of at least {concurrency} per minute "
            f"(ARM_READ_BUDGET_PER_MINUTE is {budget_per_minute}): each migration polls at least once a minute"
        )
    return 60.0 / (budget_per_minute // concurrency)


def first_poll_stagger(instance_id: str, floor: float) -> int:
    """A deterministic per-instance delay in [0, floor) that spreads the first polls of children started together."""
    if floor < 2:
        return 0
    return int(hashlib.sha256(instance_id.encode()).hexdigest()[:8], 16) % math.floor(floor)


def child_settings(settings: Settings, *, floor: float, instance_id: str) -> Settings:
    """The settings snapshot a batch hands one child: its replication schedule never polls faster than ``floor``.

    ``next_poll_delay`` already honours ``poll_first_seconds`` and ``poll_min_seconds``; the floor raises them,
    so the single-image schedule stays the one code path (only a poll at the replication deadline may come
    sooner). When the floor binds, the first poll also waits a per-instance stagger, so children started
    together do not poll together; when it does not bind, the settings are left as they are."""
    ceiling = math.ceil(floor)
    if ceiling <= min(settings.poll_first_seconds, settings.poll_min_seconds, settings.poll_max_seconds):
        return settings
    return settings.model_copy(
        update={
            "poll_first_seconds": max(settings.poll_first_seconds, ceiling) + first_poll_stagger(instance_id, floor),
            "poll_min_seconds": max(settings.poll_min_seconds, ceiling),
            "poll_max_seconds": max(settings.poll_max_seconds, ceiling),
        }
    )
