"""Replication status of an image version, and when to look at it next.

The wait is the one place where the app spends ARM requests and Durable history for nothing but time, so the
schedule predicts completion from the progress Azure reports instead of polling at a fixed interval:

1. look soon after submission (fast failures surface quickly), then double the wait while no progress shows;
2. once two reads show progress, bound the slowest region's completion from the rates they allow (Azure's whole
   percents) and sleep until it is surely done, or until the accepted detection delay (``poll_latency_fraction``
   of the time waited, at least ``poll_min_seconds``) after its earliest possible end, whichever comes first;
   never shorter than ``poll_min_seconds`` and never longer than ``poll_max_seconds``;
3. never sleep past the deadline, so the deadline check happens on time.

A copy whose progress grows linearly is then noticed within the accepted delay, usually by the read after the
one that gave its rate. Everything here is pure: the orchestrator owns the clock.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field

from migration.settings import Settings

TERMINAL_OK = "completed"
TERMINAL_FAILED = "failed"


class RegionReplication(BaseModel):
    model_config = ConfigDict(frozen=True)

    region: str
    state: str  # Unknown | Queued | Replicating | Completed | Failed
    progress: int = 0
    details: str = ""


class ReplicationSnapshot(BaseModel):
    """One read of ``GET version?$expand=ReplicationStatus``."""

    model_config = ConfigDict(frozen=True)

    version_id: str
    provisioning_state: str
    aggregated_state: str = "Unknown"
    regions: list[RegionReplication] = Field(default_factory=list)

    @property
    def failed_regions(self) -> list[RegionReplication]:
        return [r for r in self.regions if r.state.lower() == TERMINAL_FAILED]

    @property
    def failed(self) -> bool:
        return bool(self.failed_regions) or self.provisioning_state.lower() == TERMINAL_FAILED

    @property
    def completed(self) -> bool:
        return (
            self.provisioning_state.lower() == "succeeded"
            and bool(self.regions)
            and all(r.state.lower() == TERMINAL_OK for r in self.regions)
        )

    @property
    def slowest_progress(self) -> int:
        """Progress of the region furthest behind (a Completed region counts as 100)."""
        if not self.regions:
            return 0
        return min(100 if r.state.lower() == TERMINAL_OK else max(0, min(100, r.progress)) for r in self.regions)

    def failure_reason(self) -> str:
        parts = [f"{r.region}: {r.details or 'replication failed'}" for r in self.failed_regions]
        if not parts:
            parts.append(f"the version's provisioning state is {self.provisioning_state}")
        return "replication failed in " + "; ".join(parts)


class Observation(BaseModel):
    """Seconds since submission and the slowest region's progress at that moment."""

    model_config = ConfigDict(frozen=True)

    elapsed: float
    progress: int


def next_poll_delay(observations: list[Observation], *, elapsed: float, settings: Settings) -> float:
    """Seconds to wait before the next status read. ``observations`` are oldest first (the last two matter)."""
    deadline_left = settings.replication_deadline_seconds - elapsed
    if observations:
        delay = min(_predicted_delay(observations, elapsed=elapsed, settings=settings), settings.poll_max_seconds)
    else:
        delay = float(settings.poll_first_seconds)
    return max(1.0, min(delay, deadline_left)) if deadline_left > 0 else 0.0


def _predicted_delay(observations: list[Observation], *, elapsed: float, settings: Settings) -> float:
    last = observations[-1]
    # Looking more often than the accepted detection delay (a fraction of the time waited so far) buys nothing.
    floor = max(float(settings.poll_min_seconds), settings.poll_latency_fraction * elapsed)
    doubling = max(floor, elapsed)
    anchor = next((o for o in observations[:-1] if o.progress > 0), None)
    if anchor is None or last.progress <= anchor.progress:
        # Nothing measurable yet (queued, or below one percent so far): back off geometrically.
        return doubling
    # Azure reports whole percents (truncated), so two reads bound the rate to ((gained - 1) / dt, (gained + 1) / dt)
    # and the completion (100 %) to [earliest, latest] from the last read. The anchor is the first read that showed
    # progress, so queued time before replication started does not skew the rate.
    dt = max(1.0, last.elapsed - anchor.elapsed)
    gained = last.progress - anchor.progress
    earliest = (99 - last.progress) / ((gained + 1) / dt)
    latest = (100 - last.progress) / ((gained - 1) / dt) if gained > 1 else float("inf")
    # Look once the replication is surely done, or as late as the accepted detection delay allows after its
    # earliest possible end, whichever comes first: a linear copy is then noticed in one read within the goal
    # (looking at the earliest end, as this did before issue 16, cost a second read nearly every time).
    allowance = max(float(settings.poll_min_seconds), settings.poll_latency_fraction * (last.elapsed + earliest))
    delay = max(floor, min(latest, earliest + allowance) - (elapsed - last.elapsed))
    if gained < 10:
        return min(delay, doubling)  # too little progress between the reads to trust the rate yet
    return delay


def remember(observations: list[Observation], new: Observation) -> list[Observation]:
    """What the orchestrator keeps between reads: the first read that showed progress, and the latest."""
    anchor = next((o for o in observations if o.progress > 0), None)
    kept = [anchor] if anchor is not None else []
    return [*kept, new] if new != anchor else kept


def progress_view(
    snapshot: ReplicationSnapshot, replicas: Mapping[str, int] | None = None, repairs: Mapping[str, int] | None = None
) -> dict[str, dict[str, object]]:
    """Per-region state for custom status and the summary API, with each region's planned replica count and the
    retries it took (when any)."""
    counts, retried = replicas or {}, repairs or {}
    return {
        r.region: {
            "state": r.state,
            "progress": r.progress,
            **({"replicaCount": counts[r.region]} if r.region in counts else {}),
            **({"repairs": retried[r.region]} if retried.get(r.region) else {}),
        }
        for r in snapshot.regions
    }


# --- regional repair --------------------------------------------------------------------------------------------
# Azure's own remedy for a region that failed: "If retry does not work, then please do an update by removing the
# failed regions and update again by adding them back" (the service's error text, quoted in Azure/azure-cli#15539),
# and Learn ("Troubleshoot shared image galleries", Replication speed): "If it fails, trigger the command again".
# Removing a region is refused unless the version's safetyProfile.allowDeletionOfReplicatedLocations is true
# ("Deletion of previously replicated locations is not allowed ...", BadRequest, quoted in
# hashicorp/terraform-provider-azurerm#21999), so the retry re-sends the version's complete target regions: an
# update leaves completed regions as they are (recorded traffic: test_image_update_add_set.yaml #55, a region added
# to a replicated version, the version Updating for the new region's copy time only) and submits the others again.


class RegionWatch(BaseModel):
    """When a region's progress last moved (seconds since submission), to tell a stalled region."""

    model_config = ConfigDict(frozen=True)

    progress: int
    since: float


def watch_regions(
    watched: Mapping[str, RegionWatch], snapshot: ReplicationSnapshot, elapsed: float
) -> dict[str, RegionWatch]:
    """The watch after one more read: regions still replicating, each with when its progress last changed."""
    out: dict[str, RegionWatch] = {}
    for r in snapshot.regions:
        if r.state.lower() in (TERMINAL_OK, TERMINAL_FAILED):
            continue
        before = watched.get(r.region)
        out[r.region] = (
            before
            if before is not None and before.progress == r.progress
            else RegionWatch(progress=r.progress, since=elapsed)
        )
    return out


def stalled_regions(
    watched: Mapping[str, RegionWatch], snapshot: ReplicationSnapshot, *, elapsed: float, stall_seconds: int
) -> list[str]:
    """Regions whose progress has not moved for ``stall_seconds`` (0: never call a region stalled). A region still
    at 0 % is stalled only while another region of ``snapshot`` has started or finished: a version whose regions all
    wait at 0 % is slow as a whole (Azure queues regions before copying them), which re-sending its regions cannot
    change; the replication deadline covers it (issue 15: a region that stalls "while others progress")."""
    if stall_seconds <= 0:
        return []
    started = {r.region for r in snapshot.regions if r.state.lower() == TERMINAL_OK or r.progress > 0}
    return sorted(
        region
        for region, w in watched.items()
        if elapsed - w.since >= stall_seconds and (w.progress > 0 or started - {region})
    )


class RepairDecision(BaseModel):
    model_config = ConfigDict(frozen=True)

    attempt: int  # 1-based; > allowed: give up
    allowed: int
    delay_seconds: float

    @property
    def exhausted(self) -> bool:
        return self.attempt > self.allowed


def next_repair(repairs: Mapping[str, int], regions: list[str], settings: Settings) -> RepairDecision:
    """The next retry of ``regions``: its number (the most retried region's, plus one) and the backoff before it."""
    attempt = max((repairs.get(region, 0) for region in regions), default=0) + 1
    delay = float(settings.region_repair_delay_seconds) * 2 ** (attempt - 1)
    return RepairDecision(attempt=attempt, allowed=settings.region_repair_attempts, delay_seconds=delay)
