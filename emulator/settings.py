"""Runtime settings of the emulator (timings, limits, behaviour switches): ``--profile``, ``--config FILE`` and
``GET/PUT /_emulator/config``. Names are camelCase on the wire, as the rest of the control plane.

The defaults are Azure's: the LRO headers of the recorded traffic (no ``Retry-After``) and timings fitted to the
recordings' operation start and end times (``python -m tests.recordings.timings`` prints the fit and its residuals;
a test keeps these defaults equal to it). Profiles are named sets of changes a caller asks for explicitly."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from emulator.compute.curves import CurveName


class _Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class ReplicationTimings(_Model):
    """Duration of one region's replication:
    ``fixedSeconds`` if set, else ``(baseSeconds + secondsPerGiB * imageGiB) * regionFactor * replicaTerm`` where
    ``replicaTerm = 1 + replicaFactor * (replicaCount - 1)``; each region first waits ``queuedSeconds``.
    Fitted: one region of a 40 GiB image, one replica, 421 s (Azure 421-439 s); three replicas 466 s (Azure 466 s).
    """

    fixed_seconds: float | None = None
    base_seconds: float = 0.0
    seconds_per_gib: float = 6.78
    replica_factor: float = 0.082
    region_factors: dict[str, float] = Field(default_factory=dict)
    queued_seconds: float = 150.2  # the fixed part of every version operation (an update that copies nothing)
    fail_at_progress: int = 50  # where an injected replication failure strikes
    stall_at_progress: int = 60  # where an injected stall freezes
    # How reported progress grows over a region's copy time (emulator/compute/curves.py): "linear" (the default, and
    # with the queue the shape fitted to the recordings), "slow-start", "stall-burst", "jump"; per region too.
    curve: CurveName = "linear"
    region_curves: dict[str, CurveName] = Field(default_factory=dict)


class LroTimings(_Model):
    # Retry-After on the first LRO response and on every status response while in progress (the SDK poller sleeps
    # this long, in real time); 0 = no Retry-After (the client's own polling interval applies), as Azure sends none
    retry_after_seconds: int = 0
    gallery_seconds: float = 0.0  # gallery/definition writes: Azure 0.1-0.2 s, so done at the next request
    image_seconds: float = 5.1  # managed image create, update and delete (Azure: 5.1 s, six of six)
    version_delete_seconds: float = 113.1  # Azure: 91.0 s and 135.2 s
    version_update_seconds: float = 150.2  # shortest version update (PUT/PATCH that adds no region); Azure: 150.2 s
    vm_boot_seconds: float = 60.0
    # Virtual clock only: each poll of an operation still in progress moves the clock this far (0 = off), so an
    # SDK poller alone can wait out a replication (the benchmarks' baseline).
    advance_clock_on_poll_seconds: float = 0.0


class EventGridSettings(_Model):
    retry_schedule_seconds: list[float] = Field(default_factory=lambda: [1.0, 2.0, 5.0, 10.0, 30.0])
    max_delivery_attempts: int = 30
    tags_event_subject: Literal["resource", "tags-resource"] = "resource"
    lro_events: Literal["accept", "complete"] = "accept"
    topic_scope: Literal["subscription", "resourceGroup"] = "resourceGroup"
    delivery_timeout_seconds: float = 10.0


class Limits(_Model):
    max_data_disk_gib: int = 1023  # the documented migration procedure: a data disk may not exceed 1 TB
    max_tags: int = 50
    list_page_size: int = 100


class TokenBucket(_Model):
    size: int
    refill_per_second: float


class ThrottlingSettings(_Model):
    """ARM's token buckets (Microsoft Learn, "Understand how Azure Resource Manager throttles requests"): per
    subscription, principal and operation type; ``globalFactor`` times that per subscription for all principals."""

    enabled: bool = True
    reads: TokenBucket = Field(default_factory=lambda: TokenBucket(size=250, refill_per_second=25))
    writes: TokenBucket = Field(default_factory=lambda: TokenBucket(size=200, refill_per_second=10))
    deletes: TokenBucket = Field(default_factory=lambda: TokenBucket(size=200, refill_per_second=10))
    global_factor: float = 15.0


class Settings(_Model):
    replication: ReplicationTimings = Field(default_factory=ReplicationTimings)
    lro: LroTimings = Field(default_factory=LroTimings)
    eventgrid: EventGridSettings = Field(default_factory=EventGridSettings)
    limits: Limits = Field(default_factory=Limits)
    throttling: ThrottlingSettings = Field(default_factory=ThrottlingSettings)
    arm_audience: str = "https://management.azure.com/"
    record_bodies: bool = False
    rbac_checks_operation_polls: bool = True

    def merged(self, patch: dict[str, object]) -> Settings:
        """A copy with ``patch`` applied recursively (PUT /_emulator/config sends only what changes)."""
        base = self.model_dump(by_alias=True)
        return Settings.model_validate(_deep_merge(base, patch))


# Named sets of changes to the defaults, chosen explicitly (``--profile``, LocalStack(emulator_profile=...)).
PROFILES: dict[str, dict[str, object]] = {
    "azure": {},
    # A write that a client waits for within one call (an image delete, a version update or delete) completes at
    # the next request, so such waits need no clock to move: for a virtual clock that moves only between calls.
    # Replication keeps Azure's timing.
    "fast": {"lro": {"imageSeconds": 0, "versionDeleteSeconds": 0, "versionUpdateSeconds": 0}},
}


def for_profile(name: str) -> Settings:
    if name not in PROFILES:
        raise ValueError(f"unknown emulator profile '{name}'; known: {', '.join(PROFILES)}")
    return Settings().merged(PROFILES[name])


def _deep_merge(base: dict[str, object], patch: dict[str, object]) -> dict[str, object]:
    out = dict(base)
    for key, value in patch.items():
        current = out.get(key)
        if isinstance(value, dict) and isinstance(current, dict):
            out[key] = _deep_merge(current, value)
        else:
            out[key] = value
    return out
