"""``/_devhost/``: loopback developer endpoints for tests and benchmarks (not part of Azure: served only with
``--control-endpoints``, and then to callers with the master key).

- ``GET /_devhost/stats[?instanceIdPrefix=]``: counters (see :mod:`devhost.stats`).
- ``GET /_devhost/clock``: ``{"mode", "now", "autoAdvance", "idle"}`` (idle: no episode or activity running or ready).
- ``POST /_devhost/clock``: ``{"advanceTo": iso}`` or ``{"advanceBy": seconds}`` (virtual clock only, also
  advances the clock-sync URLs), ``{"autoAdvance": false}`` to hold the virtual clock (a test that must act
  while an orchestration waits on a timer), ``true`` to release it.
- ``POST /_devhost/reset``: forget every instance, start the counters afresh, release every breakpoint and run the
  ``--reset-hook`` functions (the app's process-wide caches), for test sessions sharing one host.
- ``POST /_devhost/breakpoints``: ``{"activity", "at": "start"|"end", "instanceId"?, "skip"?}`` stops one run of that
  activity there (:mod:`devhost.breakpoints`); ``GET /_devhost/breakpoints[/{id}]`` shows them and the run each
  holds (``hit``); ``DELETE /_devhost/breakpoints/{id}`` releases it.
- ``GET /_devhost/instances/{id}/activities``: ``{"instanceId", "runs": [{executionId, taskId, name, attempts}]}``,
  how many times each activity work item was started (durable: a run cut short by kill -9 counts).
- ``POST /_devhost/instances/{id}/hold`` / ``.../release``: run no episode of that instance until released; what
  arrives meanwhile (activity results, timers, events) queues up and the first episode after the release takes
  it all, as the real host delivers what queued up while an instance was idle.
- ``GET /_devhost/instances/{id}/queue``: ``{"instanceId", "held", "messages": [{eventType, name, taskId,
  fireAt}]}``, the instance's queued messages in delivery order.
- ``POST /_devhost/instances/{id}/crash-at-continue-as-new`` with ``{"when": "before-commit"|"after-commit"}``: the
  process ends like ``kill -9`` (``os._exit``) in the next episode that continues as new of an instance whose ID is
  or starts with ``id`` (so an instance not started yet can be armed), just before or just after its commit (in
  memory only: a restarted devhost is not armed).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from aiohttp import web

from devhost.breakpoints import Breakpoints
from devhost.clock import Clock, ClockSyncError, iso_z
from devhost.history import EVENT_TYPE_NAMES, EventType, parse_timestamp
from devhost.stats import Stats
from devhost.store import Store


class Introspection:
    def __init__(
        self,
        *,
        store: Store,
        clock: Clock,
        stats: Stats,
        notify: Any,
        held: set[str],
        crash_at: dict[str, str],
        breakpoints: Breakpoints,
        reset_hooks: tuple[Callable[[], object], ...] = (),
        idle: Callable[[], bool] = lambda: False,
    ) -> None:
        self.store, self.clock, self.stats, self.notify, self.held = store, clock, stats, notify, held
        self.crash_at, self.breakpoints, self.reset_hooks = crash_at, breakpoints, reset_hooks
        self.idle = idle

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/_devhost/stats", self.get_stats),
            web.get("/_devhost/clock", self.get_clock),
            web.post("/_devhost/clock", self.post_clock),
            web.post("/_devhost/reset", self.reset),
            web.post("/_devhost/instances/{id}/hold", self.hold),
            web.post("/_devhost/instances/{id}/release", self.release),
            web.get("/_devhost/instances/{id}/queue", self.queue),
            web.get("/_devhost/instances/{id}/activities", self.activity_runs),
            web.post("/_devhost/breakpoints", self.add_breakpoint),
            web.get("/_devhost/breakpoints", self.list_breakpoints),
            web.get("/_devhost/breakpoints/{id}", self.get_breakpoint),
            web.delete("/_devhost/breakpoints/{id}", self.delete_breakpoint),
            web.post("/_devhost/instances/{id}/crash-at-continue-as-new", self.arm_crash),
        ]

    async def arm_crash(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            body = None
        when = body.get("when") if isinstance(body, dict) else None
        if when not in ("before-commit", "after-commit"):
            return _error(400, 'the body must be {"when": "before-commit" | "after-commit"}')
        self.crash_at[request.match_info["id"]] = when
        return web.json_response({"instanceId": request.match_info["id"], "when": when})

    async def hold(self, request: web.Request) -> web.Response:
        self.held.add(request.match_info["id"])
        return await self.queue(request)

    async def release(self, request: web.Request) -> web.Response:
        self.held.discard(request.match_info["id"])
        self.notify()
        return await self.queue(request)

    async def queue(self, request: web.Request) -> web.Response:
        instance_id = request.match_info["id"]
        rows = self.store.db.execute(
            "SELECT fire_at, event FROM messages WHERE instance_id = ? ORDER BY id", (instance_id,)
        ).fetchall()
        messages = []
        for row in rows:
            event = json.loads(row["event"])
            kind = EventType(event["EventType"])
            task_id = event.get("TaskScheduledId", event.get("TimerId"))
            messages.append(
                {
                    "eventType": EVENT_TYPE_NAMES[kind],
                    "name": event.get("Name"),
                    "taskId": task_id,
                    "fireAt": row["fire_at"],
                }
            )
        return web.json_response({"instanceId": instance_id, "held": instance_id in self.held, "messages": messages})

    async def get_stats(self, request: web.Request) -> web.Response:
        return web.json_response(self.stats.to_json(self.store, prefix=request.query.get("instanceIdPrefix", "")))

    async def get_clock(self, _: web.Request) -> web.Response:
        return web.json_response(self._clock_json())

    async def post_clock(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            return _error(400, "the body must be a JSON object")
        if not isinstance(body, dict):
            return _error(400, "the body must be a JSON object")
        if ("advanceTo" in body or "advanceBy" in body) and not self.clock.virtual:
            return _error(409, "the real clock cannot be advanced; start the devhost with --clock virtual")
        try:
            if "autoAdvance" in body:
                if not self.clock.virtual:
                    return _error(409, "autoAdvance applies to the virtual clock only")
                self.clock.auto_advance = bool(body["autoAdvance"])
            if "advanceTo" in body:
                await self.clock.advance_to(parse_timestamp(str(body["advanceTo"])))
            elif "advanceBy" in body:
                await self.clock.advance_to(self.clock.now() + timedelta(seconds=float(body["advanceBy"])))
        except (ValueError, TypeError) as exc:
            return _error(400, f"invalid clock request: {exc}")
        except ClockSyncError as exc:
            return _error(502, str(exc))
        self.notify()
        return web.json_response(self._clock_json())

    async def reset(self, _: web.Request) -> web.Response:
        self.store.reset()
        self.stats.reset()
        self.breakpoints.clear()
        self.crash_at.clear()  # an armed crash is one test's, like its breakpoints
        for hook in self.reset_hooks:
            hook()
        self.notify()
        return web.json_response({"reset": True})

    async def activity_runs(self, request: web.Request) -> web.Response:
        instance_id = request.match_info["id"]
        return web.json_response({"instanceId": instance_id, "runs": self.store.activity_runs(instance_id)})

    async def add_breakpoint(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
            if not isinstance(body, dict):
                raise TypeError("the body must be a JSON object")
            point = self.breakpoints.add(
                str(body.get("activity") or ""),
                at=str(body.get("at", "end")),
                instance_id=body.get("instanceId"),
                skip=int(body.get("skip", 0)),
            )
        except (ValueError, TypeError) as exc:
            return _error(400, f"invalid breakpoint: {exc}")
        return web.json_response(point.to_json())

    async def list_breakpoints(self, _: web.Request) -> web.Response:
        return web.json_response({"value": [p.to_json() for p in self.breakpoints.all()]})

    async def get_breakpoint(self, request: web.Request) -> web.Response:
        point = self.breakpoints.get(request.match_info["id"])
        return _error(404, "no such breakpoint") if point is None else web.json_response(point.to_json())

    async def delete_breakpoint(self, request: web.Request) -> web.Response:
        if not self.breakpoints.remove(request.match_info["id"]):
            return _error(404, "no such breakpoint")
        self.notify()
        return web.json_response({"deleted": True})

    def _clock_json(self) -> dict[str, Any]:
        return {
            "mode": self.clock.mode,
            "now": iso_z(self.clock.now()),
            "autoAdvance": self.clock.auto_advance,
            "idle": self.idle(),  # nothing running and nothing ready: a held clock can be stepped without a race
        }


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": {"message": message}}, status=status)
