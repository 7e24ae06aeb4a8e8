"""The Compute backend: composes the per-resource backends and settles time-dependent state.

``settle()`` runs before and after every request (and on clock moves): it finishes operations whose time has come
and applies their effects (provisioningState, removal on delete), and it is the only place that does so. It looks
only at the operations scheduled at or before the clock (see :class:`~emulator.core.lro.Operations`), and
schedules a replication that is still running at the next instant one of its regions can finish or fail.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from emulator.clock import parse_iso
from emulator.compute import replication
from emulator.compute.galleries import VERSION_TYPE, GalleriesBackend
from emulator.compute.images import ImagesBackend
from emulator.compute.machines import MachinesBackend
from emulator.compute.versions import VersionsBackend
from emulator.core.backend import Context
from emulator.core.ids import norm, region

OperationListener = Callable[[dict[str, Any]], None]


class ComputeBackend:
    def __init__(self, ctx: Context):
        self.ctx = ctx
        self.images = ImagesBackend(ctx, self.source_changed)
        self.galleries = GalleriesBackend(ctx)
        self.versions = VersionsBackend(ctx, after_plan=self.apply_replication_faults)
        self.machines = MachinesBackend(ctx, self.versions)
        self.on_operation_done: list[OperationListener] = []
        self.evaluations = 0  # operations looked at by settle() (how much work the schedule saves)

    # --- time ------------------------------------------------------------------------------------------------
    def settle(self) -> None:
        now = self.ctx.clock.now()
        for op in self.ctx.ops.take_due(now):
            self.evaluations += 1
            record = self.ctx.store.get(op["resourceId"])
            if op["due"] is None:
                self._settle_replication(op, record, now)
            elif now >= parse_iso(op["due"]):
                self._finish(op, record, parse_iso(op["due"]), None)
            else:  # scheduled early (after a load, a reset or a wake-up)
                self.ctx.ops.schedule(op, parse_iso(op["due"]))

    def _settle_replication(self, op: dict[str, Any], record: dict[str, Any] | None, now: datetime) -> None:
        if record is None:
            self.ctx.ops.finish(op, now, {"code": "OperationCanceled", "message": "The resource was deleted."})
            return
        statuses = self.versions.statuses(record)
        outcome = replication.terminal(statuses)
        if outcome is None:
            upcoming = replication.next_change(record["meta"].get("plan", []), now)
            if upcoming is not None:  # None: nothing finishes by itself (stalled) until the plan changes
                self.ctx.ops.schedule(op, upcoming)
            return
        state, at = outcome
        ends = max(at, parse_iso(op["startTime"]))
        not_before = parse_iso(op["notBefore"]) if op.get("notBefore") else None
        if state == "Succeeded" and not_before is not None:
            if now < not_before:  # replicated, but an update takes its minimum time
                self.ctx.ops.schedule(op, not_before)
                return
            ends = max(ends, not_before)
        error = None
        if state == "Failed":
            failed = next(s for s in statuses if s.state == "Failed")
            error = {
                "code": "ReplicationFailed",
                "message": f"Replication of gallery image version '{record['body']['id']}' failed in region "
                f"'{failed.region}': {failed.details}",
            }
        record["meta"]["terminalAt"] = at.isoformat()  # when replication ended (detection latency is measured from it)
        self._finish(op, record, ends, error)

    def _finish(
        self, op: dict[str, Any], record: dict[str, Any] | None, at: datetime, error: dict[str, Any] | None
    ) -> None:
        """Clock-driven, hence derived changes: saved with the next write, recomputed after a restart."""
        self.ctx.ops.finish(op, at, error)
        if record is not None:
            if op["kind"] == "delete":
                self.ctx.store.remove(op["resourceId"], derived=True)
            else:
                props = record["body"].setdefault("properties", {})
                props["provisioningState"] = "Failed" if error else "Succeeded"
                self.ctx.store.mark_record(record, derived=True)
        for listener in self.on_operation_done:
            listener(op)

    # --- source images and replication faults -------------------------------------------------------------
    def source_changed(self, image_id: str, how: str) -> None:
        """A Full-mode version copying from ``image_id`` fails in every region not yet completed."""
        now = self.ctx.clock.now()
        for record in self.ctx.store.under("/subscriptions", VERSION_TYPE):
            meta = record["meta"]
            if norm(meta.get("sourceId", "")) != norm(image_id) or meta.get("mode") == "Shallow":
                continue
            details = (
                f"The source image '{image_id}' was {how} while the image version was being replicated; "
                "replication reads the source until it completes."
            )
            if replication.fail_unfinished(meta["plan"], now, details):
                self.ctx.store.mark_record(record)
                self.ctx.ops.wake(record["body"]["id"])

    def add_replication_fault(self, fault: dict[str, Any]) -> dict[str, Any]:
        """Fail or stall replication to ``region`` of versions whose ID matches ``versionPattern`` (regex, any
        case): stamped on versions in flight now and on every matching version created while the fault exists, and
        on every copy of that region an update submits again. ``times``: how many copies it hits (1 = the region
        fails once and a retry succeeds; default: every copy, a permanent failure)."""
        if fault.get("mode") not in ("fail", "stall"):
            raise ValueError("replication fault 'mode' must be 'fail' or 'stall'")
        if not fault.get("region"):
            raise ValueError("replication fault needs a 'region'")
        times = fault.get("times")
        if times is not None and (not isinstance(times, int) or isinstance(times, bool) or times < 1):
            raise ValueError("replication fault 'times' must be a positive integer")
        re.compile(fault.get("versionPattern", ".*"))
        timings = self.ctx.settings.replication
        stored = {
            "id": fault.get("id") or str(uuid.uuid4()),
            "kind": "replication",
            "region": fault["region"],
            "versionPattern": fault.get("versionPattern", ".*"),
            "mode": fault["mode"],
            "atProgress": int(
                fault.get(
                    "atProgress", timings.fail_at_progress if fault["mode"] == "fail" else timings.stall_at_progress
                )
            ),
            "details": fault.get("details") or f"Replication to region '{fault['region']}' failed (injected fault).",
            "times": times,
            "hits": 0,
        }
        self.ctx.store.data["replicationFaults"].append(stored)
        self.ctx.store.mark_section("replicationFaults")
        for record in self.ctx.store.under("/subscriptions", VERSION_TYPE):
            if record["body"]["properties"].get("provisioningState") in ("Creating", "Updating"):
                self.apply_replication_faults(record)
        return stored

    def apply_replication_faults(self, record: dict[str, Any]) -> None:
        now = self.ctx.clock.now()
        for fault in self.ctx.store.data["replicationFaults"]:
            if not re.search(fault["versionPattern"], record["body"]["id"], re.IGNORECASE):
                continue
            for entry in record["meta"].get("plan", []):
                if entry["key"] != region(fault["region"]) or entry.get("fault"):
                    continue
                if fault.get("times") is not None and fault.get("hits", 0) >= fault["times"]:
                    break
                status = replication.region_status(entry, now)
                if status.state == "Replicating":
                    fault["hits"] = fault.get("hits", 0) + 1
                    self.ctx.store.mark_section("replicationFaults")
                    entry["fault"] = {k: fault[k] for k in ("id", "mode", "details")}
                    entry["fault"]["atProgress"] = max(int(fault["atProgress"]), min(99, status.progress + 1))
                    self.ctx.store.mark_record(record)
                    self.ctx.ops.wake(record["body"]["id"])
