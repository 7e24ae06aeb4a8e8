"""ARM long-running operations: operation records polled through Azure-AsyncOperation / Location URLs.

An operation is ``InProgress`` until the backend settles it (``Succeeded``/``Failed``); completion times are virtual
timestamps, so the SDK's ``begin_*().result()`` pollers finish when the clock passes them.

Each operation in progress is scheduled at the next instant its state can change (its due time, or the next
instant a region of its replication can finish); the settler looks only at those whose instant has come, so a
request costs nothing for the operations that cannot have moved.
"""

from __future__ import annotations

import heapq
import itertools
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from emulator.clock import iso, parse_iso
from emulator.core.ids import norm
from emulator.core.store import Store

TERMINAL = ("Succeeded", "Failed", "Canceled")
_NOW = datetime.min.replace(tzinfo=UTC)  # "at the next settle, whatever the clock says"


class Operations:
    def __init__(self, store: Store):
        self.store = store
        self._queue: list[tuple[datetime, int, str]] = []  # (instant, tie-breaker, operation name): a heap
        self._next: dict[str, datetime] = {}  # the instant each scheduled operation is due a look at
        self._order = itertools.count()
        self.reschedule_all()

    # --- scheduling ------------------------------------------------------------------------------------------
    def schedule(self, op: dict[str, Any], at: datetime | None) -> None:
        """Look at ``op`` again once the clock reaches ``at`` (None: at the next settle). Replaces an earlier
        schedule of the same operation."""
        when = at or _NOW
        self._next[op["name"]] = when
        heapq.heappush(self._queue, (when, next(self._order), op["name"]))

    def take_due(self, now: datetime) -> list[dict[str, Any]]:
        """The operations in progress whose instant has come, each once and unscheduled (the caller schedules
        those that stay in progress)."""
        due: list[dict[str, Any]] = []
        while self._queue and self._queue[0][0] <= now:
            when, _, name = heapq.heappop(self._queue)
            if self._next.get(name) != when:
                continue  # rescheduled since, or already taken
            del self._next[name]
            op = self.store.operations.get(name)
            if op is not None and op["status"] == "InProgress":
                due.append(op)
        return due

    def wake(self, resource_id: str) -> None:
        """What decides the operations on ``resource_id`` changed (a replication plan): look at them again."""
        key = norm(resource_id)
        for op in self.in_progress():
            if norm(op["resourceId"]) == key:
                self.schedule(op, None)

    def reschedule_all(self) -> None:
        """After a load or a reset: every operation in progress gets a look at the next settle."""
        self._queue.clear()
        self._next.clear()
        for op in self.in_progress():
            self.schedule(op, None)

    def scheduled(self) -> int:
        return len(self._next)

    def start(
        self,
        *,
        resource_id: str,
        kind: str,
        subscription: str,
        location: str,
        now: datetime,
        due_seconds: float | None,
        style: str = "capsOperations",
        api_version: str,
    ) -> dict[str, Any]:
        """Record a new operation. ``due_seconds`` None means "the backend decides" (e.g. replication)."""
        name = str(uuid.uuid4())
        op: dict[str, Any] = {
            "name": name,
            "resourceId": resource_id,
            "kind": kind,  # create | update | delete
            "subscription": subscription,
            "location": location.replace(" ", "").lower() or "global",
            "style": style,
            "apiVersion": api_version,
            "startTime": iso(now),
            "due": iso(now + timedelta(seconds=due_seconds)) if due_seconds is not None else None,
            "status": "InProgress",
            "endTime": None,
            "error": None,
            "event": None,
        }
        self.store.operations[name] = op
        self.store.mark("operations", name, op)
        self.schedule(op, parse_iso(op["due"]) if op["due"] else None)
        return op

    def get(self, name: str) -> dict[str, Any] | None:
        return self.store.operations.get(name)

    def in_progress(self) -> list[dict[str, Any]]:
        return [op for op in self.store.operations.values() if op["status"] == "InProgress"]

    def finish(self, op: dict[str, Any], at: datetime, error: dict[str, Any] | None = None) -> None:
        """Completion that follows from the clock: saved with the next change, recomputed after a restart."""
        op["status"] = "Failed" if error else "Succeeded"
        op["endTime"] = iso(at)
        op["error"] = error
        self.store.mark("operations", op["name"], op, derived=True)

    def cancel(self, op: dict[str, Any], at: datetime, error: dict[str, Any]) -> None:
        """Canceled by a request (e.g. the resource was deleted): a change to save before answering."""
        op["status"] = "Canceled"
        op["endTime"] = iso(at)
        op["error"] = error
        self.store.mark("operations", op["name"], op)

    @staticmethod
    def url(op: dict[str, Any], base_url: str) -> str:
        return (
            f"{base_url}/subscriptions/{op['subscription']}/providers/Microsoft.Compute/locations/{op['location']}/"
            f"{op['style']}/{op['name']}?api-version={op['apiVersion']}"
        )

    def headers(self, op: dict[str, Any], base_url: str, retry_after: int) -> dict[str, str]:
        url = self.url(op, base_url)
        return {"Azure-AsyncOperation": url, "Location": url + "&monitor=true", **retry_after_header(retry_after)}

    @staticmethod
    def status_body(op: dict[str, Any]) -> dict[str, Any]:
        body: dict[str, Any] = {"startTime": op["startTime"], "status": op["status"], "name": op["name"]}
        if op["endTime"]:
            body["endTime"] = op["endTime"]
        if op["error"]:
            body["error"] = op["error"]
        return body


def retry_after_header(seconds: int) -> dict[str, str]:
    """``Retry-After`` for a response about an operation in progress (ARM passes on the RP's value with every such
    response); 0 means none, and the client falls back to its own polling interval."""
    return {"Retry-After": str(seconds)} if seconds > 0 else {}
