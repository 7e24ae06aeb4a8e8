"""The app's ARM budget: Azure Resource Manager's token buckets, shared by every request the app makes.

ARM throttles each principal per subscription (and per region of the ARM instance that receives the request) with
token buckets: reads 250 tokens refilled at 25 a second, writes 200 at 10, deletes 200 at 10 (Microsoft Learn,
"Understand how Azure Resource Manager throttles requests", "Regional throttling and token bucket algorithm"). The
app has one identity and reaches ARM from the region it runs in, so one budget per subscription is exactly one of
ARM's buckets. It is kept by a durable entity per subscription (``entities/arm_budget.py``): every orchestration
asks it for a step's known request count before the step (a *grant*, possibly in the future, awaited on a durable
timer), and the client functions, which cannot wait on timers, tell it afterwards what they spent.

Each bucket is split into three lanes whose sum is ARM's bucket, so traffic that stays within its lane can never
empty ARM's bucket:

- *clients* (``ARM_BUDGET_CLIENT_SHARE`` of size and refill): the Event Grid trigger's and HTTP API's requests,
  admitted by the trigger when its lane has room and accounted afterwards;
- *leases* (reads only): ``ARM_BUDGET_POLL_LEASES`` migrations may poll replication without asking for each read;
  each reserves one token and one read per ``poll_interval`` (its polls are at least that far apart);
- *granted*: the rest, handed out in order of asking (FIFO per kind), each grant at the earliest moment its tokens
  are there; a grant larger than the lane waits until the lane is full and leaves it in debt.

Everything here is pure (time is given); the entity persists :class:`BudgetState` as its state.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field

from migration.settings import Settings

KINDS = ("reads", "writes", "deletes")
# Grants closer than this are taken at once: a durable timer (four history events) for less buys nothing.
GRANT_TOLERANCE = timedelta(seconds=1)
BUDGET_ENTITY = "arm_budget"
WAITING = "waiting for ARM budget"


def instant(moment: datetime) -> str:
    """A moment as the budget's operations carry it: UTC, microseconds, ``Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_instant(text: str) -> datetime:
    """The moment an operation carries (``Z`` or an offset; no zone: UTC)."""
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class Counts(BaseModel):
    """ARM requests by ARM's bucket: reads (GET, HEAD), writes (PUT, PATCH, POST), deletes."""

    model_config = ConfigDict(frozen=True)

    reads: int = 0
    writes: int = 0
    deletes: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(
            reads=self.reads + other.reads, writes=self.writes + other.writes, deletes=self.deletes + other.deletes
        )

    def of(self, kind: str) -> int:
        return int(getattr(self, kind))

    @property
    def total(self) -> int:
        return self.reads + self.writes + self.deletes


def merge(*needs: Mapping[str, Counts]) -> dict[str, Counts]:
    """Per-subscription needs added up (subscription IDs compared without case)."""
    out: dict[str, Counts] = {}
    for need in needs:
        for subscription, counts in need.items():
            key = subscription.lower()
            out[key] = out.get(key, Counts()) + counts
    return {key: counts for key, counts in out.items() if counts.total}


class Bucket(BaseModel):
    model_config = ConfigDict(frozen=True)

    size: float
    per_second: float


class BudgetSpec(BaseModel):
    """ARM's buckets and how the app splits them (from the settings; defaults are Azure's published numbers)."""

    model_config = ConfigDict(frozen=True)

    reads: Bucket = Bucket(size=250, per_second=25)
    writes: Bucket = Bucket(size=200, per_second=10)
    deletes: Bucket = Bucket(size=200, per_second=10)
    client_share: float = 0.2
    poll_leases: int = 50
    poll_interval: float = 60.0  # seconds between two polls of a leaseholder (REPLICATION_POLL_MIN_SECONDS)
    lease_seconds: float = 90000.0  # a lease lapses after this long (a migration that was terminated keeps none)

    @classmethod
    def from_settings(cls, settings: Settings) -> BudgetSpec:
        return cls(
            reads=Bucket(size=settings.arm_budget_reads_bucket, per_second=settings.arm_budget_reads_per_second),
            writes=Bucket(size=settings.arm_budget_writes_bucket, per_second=settings.arm_budget_writes_per_second),
            deletes=Bucket(size=settings.arm_budget_deletes_bucket, per_second=settings.arm_budget_deletes_per_second),
            client_share=settings.arm_budget_client_share,
            poll_leases=settings.arm_budget_poll_leases,
            poll_interval=float(settings.poll_min_seconds),
            lease_seconds=float(settings.replication_deadline_seconds + 3600),
        )

    def bucket(self, kind: str) -> Bucket:
        bucket: Bucket = getattr(self, kind)
        return bucket

    def granted_lane(self, kind: str) -> Bucket:
        bucket = self.bucket(kind)
        size = bucket.size * (1 - self.client_share)
        rate = bucket.per_second * (1 - self.client_share)
        if kind == "reads":
            size -= self.poll_leases
            rate -= self.poll_leases / self.poll_interval
        return Bucket(size=max(1.0, size), per_second=max(0.01, rate))

    def client_lane(self, kind: str) -> Bucket:
        bucket = self.bucket(kind)
        return Bucket(size=bucket.size * self.client_share, per_second=bucket.per_second * self.client_share)


class Level(BaseModel):
    """A lane's tokens at a moment (negative: granted ahead of time); ``at`` never goes back."""

    model_config = ConfigDict(frozen=True)

    tokens: float
    at: datetime

    def advanced(self, lane: Bucket, to: datetime) -> Level:
        """The level at ``to`` (refilled up to the lane's size), or as it is if ``to`` is not later."""
        if to <= self.at:
            return self
        refill = lane.per_second * (to - self.at).total_seconds()
        return Level(tokens=min(lane.size, self.tokens + refill), at=to)


class BudgetStats(BaseModel):
    grants: int = 0
    waits: int = 0
    waited_seconds: float = 0.0
    longest_wait_seconds: float = 0.0
    granted: Counts = Counts()
    accounted: Counts = Counts()
    leases_granted: int = 0
    leases_refused: int = 0


class BudgetState(BaseModel):
    """The entity's state: each lane's level, the poll leases (holder -> lapse time), the latest time it has seen."""

    granted: dict[str, Level] = Field(default_factory=dict)
    clients: dict[str, Level] = Field(default_factory=dict)
    leases: dict[str, datetime] = Field(default_factory=dict)
    clock: datetime | None = None
    stats: BudgetStats = Field(default_factory=BudgetStats)

    def now(self, given: datetime) -> datetime:
        """The orchestrations' now: never before the latest time an orchestration gave (their episodes' clocks
        differ a little). Client functions' times never move it: they come from another clock (other machines in
        Azure; wall time under the devhost's virtual clock), and a client clock running ahead would otherwise make
        every migration wait out the skew on a durable timer. The clients' lane keeps its own time in its levels."""
        return max(given, self.clock) if self.clock else given


class Grant(BaseModel):
    model_config = ConfigDict(frozen=True)

    at: datetime
    lease: bool = False


def _start(lane: Bucket, level: Level | None, now: datetime) -> Level:
    return level if level is not None else Level(tokens=lane.size, at=now)


def acquire(
    state: BudgetState,
    spec: BudgetSpec,
    *,
    now: datetime,
    need: Counts,
    holder: str = "",
    lease: bool = False,
    release: bool = False,
) -> tuple[BudgetState, Grant]:
    """Grant ``need`` at the earliest moment every kind has the tokens (FIFO per kind), and take them then.

    ``release`` gives back ``holder``'s poll lease first; ``lease`` asks for one (kept if already held, refused
    when all are taken). The grant says whether ``holder`` holds a lease after the call."""
    now = state.now(now)
    leases = {who: until for who, until in state.leases.items() if until > now and not (release and who == holder)}
    granted = dict(state.granted)
    ready: dict[str, datetime] = {}
    for kind in KINDS:
        count = need.of(kind)
        if count <= 0:
            continue
        lane = spec.granted_lane(kind)
        level = _start(lane, granted.get(kind), now)
        start = max(now, level.at)
        tokens = level.advanced(lane, start).tokens
        wanted = min(float(count), lane.size)  # more than the lane holds: wait until it is full, then owe the rest
        ready[kind] = start + timedelta(seconds=max(0.0, wanted - tokens) / lane.per_second)
    at = max([now, *ready.values()])
    for kind, moment in ready.items():
        lane = spec.granted_lane(kind)
        level = _start(lane, granted.get(kind), now).advanced(lane, moment)
        granted[kind] = Level(tokens=level.tokens - need.of(kind), at=moment)
    stats = state.stats.model_copy()
    stats.grants += 1
    stats.granted = stats.granted + need
    waited = (at - now).total_seconds()
    if at - now > GRANT_TOLERANCE:
        stats.waits += 1
        stats.waited_seconds += waited
        stats.longest_wait_seconds = max(stats.longest_wait_seconds, waited)
    holds = holder in leases
    if lease and holder:
        if holds or len(leases) < spec.poll_leases:
            leases[holder] = now + timedelta(seconds=spec.lease_seconds)
            stats.leases_granted += 0 if holds else 1
            holds = True
        else:
            stats.leases_refused += 1
    updated = state.model_copy(update={"granted": granted, "leases": leases, "clock": now, "stats": stats})
    return updated, Grant(at=at, lease=holds)


def release_lease(state: BudgetState, *, holder: str) -> BudgetState:
    return state.model_copy(update={"leases": {k: v for k, v in state.leases.items() if k != holder}})


def account(state: BudgetState, spec: BudgetSpec, *, now: datetime, used: Counts) -> BudgetState:
    """What a client function spent (it could not ask first): taken from the clients' lane, into debt if need be.
    ``now`` is the client's clock, which only the clients' lane sees (see :meth:`BudgetState.now`)."""
    clients = dict(state.clients)
    for kind in KINDS:
        count = used.of(kind)
        if count <= 0:
            continue
        lane = spec.client_lane(kind)
        level = _start(lane, clients.get(kind), now).advanced(lane, now)
        clients[kind] = Level(tokens=level.tokens - count, at=level.at)
    stats = state.stats.model_copy(update={"accounted": state.stats.accounted + used})
    return state.model_copy(update={"clients": clients, "stats": stats})


def client_room(state: BudgetState, spec: BudgetSpec, *, now: datetime, kind: str) -> float:
    """Tokens in the clients' lane at the client's ``now`` (what a client function may spend without asking)."""
    lane = spec.client_lane(kind)
    return _start(lane, state.clients.get(kind), now).advanced(lane, now).tokens


# --- what each step asks for ------------------------------------------------------------------------------------
# ARM requests of each activity at most (its own, not the SDK's retries), split by where they go: the source
# image's subscription and the gallery's. ``tests/e2e/test_request_counts.py`` checks them against the request log.
IMAGE_SIDE = "image"
GALLERY_SIDE = "gallery"
STEP_REQUESTS: dict[str, dict[str, Counts]] = {
    # the image (unless the trigger's read is fresh), the gallery (unless the trigger resolved it), the definition,
    # its versions (when it exists); the running status tags on the image
    "run_preflight": {IMAGE_SIDE: Counts(reads=1, writes=1), GALLERY_SIDE: Counts(reads=3)},
    "ensure_image_definition": {GALLERY_SIDE: Counts(reads=1, writes=1)},  # the read only if the PUT is refused
    "submit_image_version": {GALLERY_SIDE: Counts(reads=1, writes=1)},  # the read unless the definition is new
    "get_replication_status": {GALLERY_SIDE: Counts(reads=1)},
    "validate_image_version": {GALLERY_SIDE: Counts(reads=2)},
    "promote_image_version": {GALLERY_SIDE: Counts(writes=1)},
    "delete_source_image": {IMAGE_SIDE: Counts(reads=2, deletes=1), GALLERY_SIDE: Counts(writes=1)},
    "record_status": {IMAGE_SIDE: Counts(writes=1), GALLERY_SIDE: Counts(writes=1)},
    "delete_image_version": {GALLERY_SIDE: Counts(deletes=1)},
    # regional repair: the source re-read (it must be unchanged), the version read, the PATCH re-sending its regions
    "repair_replication": {IMAGE_SIDE: Counts(reads=1), GALLERY_SIDE: Counts(reads=1, writes=1)},
    # repointing (opt-in): the version re-validated, the scale sets listed (where SCALE_SET_CHECK_SCOPE looks, on the
    # image's side), then per scale set a PATCH and a read confirming it: counted for one scale set
    "repoint_scale_sets": {IMAGE_SIDE: Counts(reads=2, writes=1), GALLERY_SIDE: Counts(reads=1)},
    "start_boot_test": {GALLERY_SIDE: Counts(reads=1, writes=2)},
    "get_boot_test": {GALLERY_SIDE: Counts(reads=1)},
    "remove_boot_test": {GALLERY_SIDE: Counts(deletes=1)},
    "plan_migration": {IMAGE_SIDE: Counts(reads=1), GALLERY_SIDE: Counts(reads=3)},
}


def step_needs(steps: list[str], *, image_subscription: str, gallery_subscription: str) -> dict[str, Counts]:
    """The per-subscription requests of ``steps`` (activity names; a name twice counts twice)."""
    where = {IMAGE_SIDE: image_subscription, GALLERY_SIDE: gallery_subscription}
    return merge(*({where[side]: counts} for step in steps for side, counts in STEP_REQUESTS[step].items()))


def listing_need(subscriptions: list[str], *, reads_each: int) -> dict[str, Counts]:
    """A fleet listing's reads: an estimate per subscription it lists (pages are not known beforehand)."""
    return merge(*({subscription: Counts(reads=reads_each)} for subscription in subscriptions))
