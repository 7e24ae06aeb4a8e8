"""Activity breakpoints for ``/_devhost/breakpoints``: stop one run of a named activity where a test wants to act
(typically ``kill -9`` of the host), knowing which activity runs instead of guessing from timing.

A breakpoint names an activity (case-insensitive, as the host indexes them), optionally an instance, and where
to stop: ``start`` (dequeued, its attempt recorded, the function not yet called) or ``end`` (the function has
returned, every side effect done, its result not yet committed: a crash there loses the result and the host runs
the activity again, the at-least-once case an idempotent activity must survive). ``skip`` lets that many matching
runs pass first. A breakpoint stops one run, then lets later ones pass; deleting it (or a reset) releases the run
it holds. Not part of Azure: served only with ``--control-endpoints``.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field
from typing import Any

from devhost.store import ActivityItem

WHERE = ("start", "end")


@dataclass
class Breakpoint:
    id: str
    activity: str
    at: str
    instance_id: str | None = None
    skip: int = 0
    seen: int = 0
    hit: dict[str, Any] | None = None  # the run it stopped: instanceId, taskId, name, attempt
    released: asyncio.Event = field(default_factory=asyncio.Event)

    def matches(self, name: str, instance_id: str, at: str) -> bool:
        wanted = self.instance_id is None or self.instance_id == instance_id
        return self.hit is None and at == self.at and name.lower() == self.activity.lower() and wanted

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "activity": self.activity,
            "at": self.at,
            "instanceId": self.instance_id,
            "skip": self.skip,
            "seen": self.seen,
            "hit": self.hit,
            "paused": self.hit is not None and not self.released.is_set(),
        }


class Breakpoints:
    def __init__(self) -> None:
        self._items: dict[str, Breakpoint] = {}
        self._ids = itertools.count(1)

    def add(self, activity: str, at: str = "end", instance_id: str | None = None, skip: int = 0) -> Breakpoint:
        if at not in WHERE:
            raise ValueError(f"at must be one of {', '.join(WHERE)}")
        if not activity:
            raise ValueError("activity is required")
        if skip < 0:
            raise ValueError("skip must be 0 or more")
        point = Breakpoint(str(next(self._ids)), activity, at, instance_id, skip)
        self._items[point.id] = point
        return point

    def get(self, point_id: str) -> Breakpoint | None:
        return self._items.get(point_id)

    def all(self) -> list[Breakpoint]:
        return list(self._items.values())

    def remove(self, point_id: str) -> bool:
        point = self._items.pop(point_id, None)
        if point is not None:
            point.released.set()
        return point is not None

    def clear(self) -> None:
        for point_id in list(self._items):
            self.remove(point_id)

    async def reached(self, item: ActivityItem, *, attempt: int, at: str) -> None:
        """Called by the dispatcher at each place an activity run can stop; waits while a breakpoint holds it."""
        for point in list(self._items.values()):
            if not point.matches(item.name, item.instance_id, at):
                continue
            point.seen += 1
            if point.seen <= point.skip:
                continue
            point.hit = {"instanceId": item.instance_id, "taskId": item.task_id, "name": item.name, "attempt": attempt}
            await point.released.wait()
