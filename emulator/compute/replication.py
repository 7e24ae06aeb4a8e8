"""Replication of an image version to its target regions, as a pure function of a plan and the clock.

A plan holds, per region, when replication starts and how long it takes; injected faults and source-image changes
add a failure point. State and progress at any instant are computed, never stored, so a virtual clock advance or a
restart gives the same answer for the same instant.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from emulator.clock import iso, parse_iso
from emulator.compute.curves import share_done, share_of_time
from emulator.core.ids import region
from emulator.settings import ReplicationTimings


@dataclass(frozen=True)
class RegionStatus:
    region: str
    state: str  # Replicating | Completed | Failed  (the spec's ReplicationState)
    progress: int
    details: str
    terminal_at: datetime | None  # when it reached Completed/Failed (None while running)

    def to_json(self) -> dict[str, Any]:
        return {"region": self.region, "state": self.state, "details": self.details, "progress": self.progress}


def duration_seconds(timings: ReplicationTimings, region_name: str, size_gib: int, replicas: int) -> float:
    if timings.fixed_seconds is not None:
        return timings.fixed_seconds
    factor = timings.region_factors.get(region(region_name), 1.0)
    replica_term = 1.0 + timings.replica_factor * max(0, replicas - 1)
    return (timings.base_seconds + timings.seconds_per_gib * size_gib) * factor * replica_term


def plan_region(
    timings: ReplicationTimings, region_name: str, size_gib: int, replicas: int, now: datetime
) -> dict[str, Any]:
    return {
        "region": region_name,
        "key": region(region_name),
        "replicas": replicas,
        "start": iso(now + timedelta(seconds=timings.queued_seconds)),
        "duration": duration_seconds(timings, region_name, size_gib, replicas),
        "curve": timings.region_curves.get(region(region_name), timings.curve),
        "fault": None,
        "failure": None,
    }


def _at(entry: dict[str, Any], progress: float) -> datetime:
    share = share_of_time(entry.get("curve", "linear"), progress / 100.0)
    return parse_iso(entry["start"]) + timedelta(seconds=entry["duration"] * share)


def region_status(entry: dict[str, Any], now: datetime) -> RegionStatus:
    start = parse_iso(entry["start"])
    duration = max(float(entry["duration"]), 0.0)
    elapsed = (now - start).total_seconds()
    curve = entry.get("curve", "linear")  # plans made before curves existed are linear
    progress = 100.0 if duration == 0 and elapsed >= 0 else 100.0 * share_done(curve, elapsed / (duration or 1))
    name = entry["region"]
    failure = entry.get("failure")
    if failure and now >= parse_iso(failure["at"]):
        at = parse_iso(failure["at"])
        done = 100.0 if duration == 0 else 100.0 * share_done(curve, (at - start).total_seconds() / duration)
        return RegionStatus(name, "Failed", int(max(0.0, min(99.0, done))), failure["details"], at)
    fault = entry.get("fault")
    if fault and progress >= fault["atProgress"]:
        if fault["mode"] == "fail":
            return RegionStatus(
                name, "Failed", int(fault["atProgress"]), fault["details"], _at(entry, fault["atProgress"])
            )
        return RegionStatus(name, "Replicating", int(fault["atProgress"]), "", None)  # stalled
    if elapsed < 0:
        return RegionStatus(name, "Replicating", 0, "Queued", None)
    if progress >= 100.0:
        return RegionStatus(name, "Completed", 100, "", start + timedelta(seconds=duration))
    return RegionStatus(name, "Replicating", int(progress), "", None)


def aggregate(statuses: list[RegionStatus]) -> str:
    """The spec's AggregatedReplicationState: Failed if any region failed, Completed if all did, else InProgress."""
    if any(s.state == "Failed" for s in statuses):
        return "Failed"
    if statuses and all(s.state == "Completed" for s in statuses):
        return "Completed"
    return "InProgress"


def terminal(statuses: list[RegionStatus]) -> tuple[str, datetime] | None:
    """("Succeeded"|"Failed", when) once the version's replication is over: all regions done, or one failed."""
    failed = [s.terminal_at for s in statuses if s.state == "Failed" and s.terminal_at]
    if failed:
        return "Failed", min(failed)
    done = [s.terminal_at for s in statuses if s.state == "Completed" and s.terminal_at]
    if statuses and len(done) == len(statuses):
        return "Succeeded", max(done)
    return None


def next_change(plan: list[dict[str, Any]], now: datetime) -> datetime | None:
    """The earliest instant after ``now`` at which a region can become Completed or Failed by itself (None: none
    will, e.g. all stalled). Lets the settler skip versions whose replication cannot have finished yet."""
    times: list[datetime] = []
    for entry in plan:
        if region_status(entry, now).state != "Replicating":
            continue
        candidates = [parse_iso(entry["start"]) + timedelta(seconds=max(float(entry["duration"]), 0.0))]
        fault = entry.get("fault")
        if fault:
            at = _at(entry, fault["atProgress"])
            candidates = [at] if fault["mode"] == "fail" else [c for c in candidates if c < at]
        if entry.get("failure"):
            candidates.append(parse_iso(entry["failure"]["at"]))
        times += [c for c in candidates if c > now] or ([now] if candidates else [])
    return min(times) if times else None


def fail_unfinished(plan: list[dict[str, Any]], now: datetime, details: str) -> bool:
    """Make every region that has not completed by ``now`` fail at ``now`` (source deleted or changed)."""
    changed = False
    for entry in plan:
        if region_status(entry, now).state == "Replicating" and not entry.get("failure"):
            entry["failure"] = {"at": iso(now), "details": details}
            changed = True
    return changed
