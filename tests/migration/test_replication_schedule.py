"""The polling schedule, simulated against the emulator's replication curves (its model of the world, not the
predictor's): a queue, then a copy whose reported progress grows linearly (what the schedule assumes and the
recordings fit) or not (slow start, a stall then a burst, a jump to 100 %)."""

import pytest

from emulator.compute.curves import CURVES, share_done
from migration.replication import (
    Observation,
    RegionReplication,
    ReplicationSnapshot,
    next_poll_delay,
    next_repair,
    progress_view,
    remember,
    stalled_regions,
    watch_regions,
)
from tests.migration.factories import settings


def simulate(duration: float, queued: float = 30.0, curve: str = "linear", **overrides: object) -> tuple[int, float]:
    """(status reads, detection latency) to notice a replication that completes at ``queued + duration``."""
    cfg = settings(**overrides)
    done_at = queued + duration
    observations: list[Observation] = []
    t = 0.0
    reads = 0
    while True:
        t += next_poll_delay(observations, elapsed=t, settings=cfg)
        reads += 1
        if t >= done_at:
            return reads, t - done_at
        progress = int(100 * share_done(curve, (t - queued) / duration)) if t > queued else 0  # Azure truncates
        observations = remember(observations, Observation(elapsed=t, progress=progress))


def latency_goal(total: float) -> float:
    return max(60.0, 0.05 * total)  # README "Performance": about 5 % of the wait, at least a minute


@pytest.mark.parametrize("queued", [0, 30, 150.2, 300])
@pytest.mark.parametrize("duration", [600, 3600, 6 * 3600])
def test_few_reads_and_bounded_latency(duration: int, queued: float) -> None:
    reads, latency = simulate(duration, queued)
    assert 0 <= latency <= latency_goal(duration + queued)
    assert reads <= 13, reads


@pytest.mark.parametrize("queued", [0, 30, 150.2])
def test_a_ten_minute_copy_takes_three_reads(queued: float) -> None:
    """Issue 16's 10-minute migration: a first look, a second that gives the rate, a third once it is done (looking
    at the earliest possible end instead, as before, took a fourth nearly every time)."""
    reads, latency = simulate(600, queued)
    assert reads == 3
    assert latency <= latency_goal(600 + queued)


@pytest.mark.parametrize("curve", CURVES)
@pytest.mark.parametrize("duration", [600, 3600, 6 * 3600])
def test_curves_the_schedule_does_not_assume_cost_no_more_reads(duration: int, curve: str) -> None:
    """On every curve the wait stays economical (at most 13 reads where the SDK's 30 s poller takes 25 to 725), and
    detection comes before the replication time has passed a second time; bench/README.md lists where the 5 % goal
    is missed
    (test_where_the_latency_goal_is_missed keeps that list true)."""
    reads, latency = simulate(duration, 150.2, curve)
    assert reads <= 13, reads
    assert 0 <= latency <= duration + 150.2, latency


# (curve, copy seconds) whose detection latency misses the goal. With the first look at 180 s (issue 16: Azure
# queues a region about 150 s, so an earlier look sees nothing) the geometric back-off's steps fall elsewhere: the
# 10-minute slow start is now met, the 6-hour slow start, stall-burst and jump and the 1-hour jump are missed (the
# curve table in bench/README.md was measured before this change).
MISSES = {
    ("slow-start", 3600),
    ("slow-start", 21600),
    ("stall-burst", 600),
    ("stall-burst", 3600),
    ("stall-burst", 21600),
    ("jump", 600),
    ("jump", 3600),
    ("jump", 21600),
}


def test_where_the_latency_goal_is_missed() -> None:
    missed = {
        (curve, duration)
        for curve in CURVES
        for duration in (600, 3600, 6 * 3600)
        if simulate(duration, 150.2, curve)[1] > latency_goal(duration + 150.2)
    }
    assert missed == MISSES


def test_deadline_is_never_overslept() -> None:
    cfg = settings(REPLICATION_DEADLINE_SECONDS="1000")
    assert next_poll_delay([Observation(elapsed=990, progress=1)], elapsed=990, settings=cfg) == 10
    assert next_poll_delay([Observation(elapsed=1000, progress=1)], elapsed=1000, settings=cfg) == 0


def test_without_progress_the_wait_doubles_up_to_the_cap() -> None:
    cfg = settings(REPLICATION_POLL_MAX_SECONDS="600")
    assert next_poll_delay([], elapsed=0, settings=cfg) == 180  # Azure keeps every region queued about 150 s
    assert next_poll_delay([Observation(elapsed=60, progress=0)], elapsed=60, settings=cfg) == 60
    assert next_poll_delay([Observation(elapsed=240, progress=3)], elapsed=240, settings=cfg) == 240
    assert next_poll_delay([Observation(elapsed=5000, progress=0)], elapsed=5000, settings=cfg) == 600


def test_remember_keeps_the_first_progress_and_the_latest() -> None:
    kept: list[Observation] = []
    for t, p in [(60, 0), (120, 0), (240, 2), (480, 5), (960, 12)]:
        kept = remember(kept, Observation(elapsed=t, progress=p))
    assert kept == [Observation(elapsed=240, progress=2), Observation(elapsed=960, progress=12)]


# --- regional repair --------------------------------------------------------------------------------------------
def snapshot(**regions: tuple[str, int]) -> ReplicationSnapshot:
    return ReplicationSnapshot(
        version_id="v",
        provisioning_state="Creating",
        regions=[RegionReplication(region=name, state=state, progress=p) for name, (state, p) in regions.items()],
    )


def test_a_region_is_stalled_once_its_progress_has_not_moved_for_the_stall_time() -> None:
    first = snapshot(eastus=("Replicating", 40), westus2=("Replicating", 10))
    watched = watch_regions({}, first, 100)
    later = snapshot(eastus=("Replicating", 40), westus2=("Completed", 100))
    watched = watch_regions(watched, later, 3000)
    assert list(watched) == ["eastus"]  # finished regions are no longer watched
    assert stalled_regions(watched, later, elapsed=3000, stall_seconds=3600) == []
    assert stalled_regions(watched, later, elapsed=3700, stall_seconds=3600) == ["eastus"]
    assert stalled_regions(watched, later, elapsed=3700, stall_seconds=0) == []  # 0 turns stall detection off
    moved = watch_regions(watched, snapshot(eastus=("Replicating", 41)), 3700)
    assert stalled_regions(moved, later, elapsed=7000, stall_seconds=3600) == []
    assert stalled_regions(moved, later, elapsed=7300, stall_seconds=3600) == ["eastus"]
    alone = snapshot(eastus=("Replicating", 40))
    assert stalled_regions(watch_regions({}, alone, 100), alone, elapsed=3700, stall_seconds=3600) == ["eastus"]


def test_a_region_still_at_zero_is_stalled_only_while_another_has_started() -> None:
    """Every region at 0 % for hours is a version slow to start (the 6-hour "jump" curve), not a regional stall:
    re-sending the regions cannot help, and two such retries failed a replication that would have completed."""
    waiting = snapshot(eastus=("Replicating", 0), westus2=("Replicating", 0))
    watched = watch_regions({}, waiting, 180)
    assert stalled_regions(watched, waiting, elapsed=7200, stall_seconds=3600) == []
    one_moved = snapshot(eastus=("Replicating", 0), westus2=("Replicating", 1))
    assert stalled_regions(watch_regions(watched, one_moved, 7200), one_moved, elapsed=7200, stall_seconds=3600) == [
        "eastus"
    ]
    one_done = snapshot(eastus=("Replicating", 0), westus2=("Completed", 100))
    assert stalled_regions(watch_regions(watched, one_done, 7200), one_done, elapsed=7200, stall_seconds=3600) == [
        "eastus"
    ]
    alone = snapshot(eastus=("Replicating", 0))
    assert stalled_regions(watch_regions({}, alone, 180), alone, elapsed=7200, stall_seconds=3600) == []


def test_each_retry_of_a_region_waits_twice_as_long_until_the_attempts_are_used_up() -> None:
    cfg = settings(REGION_REPAIR_ATTEMPTS="2", REGION_REPAIR_DELAY_SECONDS="300")
    first = next_repair({}, ["eastus"], cfg)
    assert (first.attempt, first.delay_seconds, first.exhausted) == (1, 300, False)
    second = next_repair({"eastus": 1, "westus2": 0}, ["eastus", "westus2"], cfg)
    assert (second.attempt, second.delay_seconds, second.exhausted) == (2, 600, False)
    assert next_repair({"eastus": 2}, ["eastus"], cfg).exhausted
    assert next_repair({}, ["eastus"], settings(REGION_REPAIR_ATTEMPTS="0")).exhausted


def test_the_progress_view_shows_the_retries_of_the_regions_that_had_any() -> None:
    view = progress_view(snapshot(eastus=("Replicating", 5), westus2=("Completed", 100)), {"eastus": 2}, {"eastus": 1})
    assert view == {
        "eastus": {"state": "Replicating", "progress": 5, "replicaCount": 2, "repairs": 1},
        "westus2": {"state": "Completed", "progress": 100},
    }


def o(elapsed: float, progress: int) -> Observation:
    return Observation(elapsed=elapsed, progress=progress)


# (observations, elapsed, settings overrides, expected delay): worked out by hand from the rules in the module's
# docstring with the defaults (first 180 s, min 60 s, 5 % of elapsed, max 3,600 s, deadline 86,400 s).
DELAYS = [
    # rate from the first read that showed progress: at most (30 + 1 - 10) / 300 s, so 69 points take at least
    # 985.7 s (done at 1,585.7 s at the earliest); look 5 % of that later, before the latest end (70 / (19 / 300))
    ([o(300, 10), o(600, 30)], 600, {}, 69 / (21 / 300) + 0.05 * (600 + 69 / (21 / 300))),
    # the same, asked 100 s after the last read: that much less to wait
    ([o(300, 10), o(600, 30)], 700, {}, 69 / (21 / 300) + 0.05 * (600 + 69 / (21 / 300)) - 100),
    # a read at 0 % is no anchor: nothing measurable yet, so the wait doubles (to the time waited so far)
    ([o(60, 0), o(300, 20)], 300, {}, 300),
    # no progress since the anchor, even at 99 %: back off rather than trust a rate of zero
    ([o(300, 99), o(600, 99)], 600, {}, 600),
    # less than 10 points between the reads: the prediction (about 2,500 s) is capped by the doubling
    ([o(300, 5), o(600, 12)], 600, {}, 600),
    # only the reads before the latest can anchor: the first read here showed nothing; the accepted delay after
    # the earliest end is the one-minute minimum (5 % of 793.75 s is less)
    ([o(100, 0), o(200, 5), o(300, 20)], 300, {}, 79 / (16 / 100) + 60),
    # reads 1.5 s apart with a 1 s floor: the rate uses their real distance; the latest end (70 points at the
    # slowest rate, 19 / 1.5 s) comes before the earliest (69 / 14) plus the 1 s allowance
    (
        [o(100, 10), o(101.5, 30)],
        101.5,
        {"REPLICATION_POLL_MIN_SECONDS": "1", "REPLICATION_POLL_LATENCY_FRACTION": "0", "ARM_BUDGET_POLL_LEASES": "1"},
        70 / (19 / 1.5),
    ),
    # never past the deadline, never less than a second before it, nothing at it
    ([], 998.5, {"REPLICATION_DEADLINE_SECONDS": "1000"}, 1.5),
    ([], 999.5, {"REPLICATION_DEADLINE_SECONDS": "1000"}, 1.0),
    ([o(300, 10), o(600, 30)], 600, {"REPLICATION_POLL_MAX_SECONDS": "900"}, 900),
]


@pytest.mark.parametrize(("observations", "elapsed", "overrides", "expected"), DELAYS)
def test_delays_worked_out_by_hand(
    observations: list[Observation], elapsed: float, overrides: dict[str, str], expected: float
) -> None:
    assert next_poll_delay(observations, elapsed=elapsed, settings=settings(**overrides)) == pytest.approx(expected)


def test_remember_does_not_keep_the_anchor_twice() -> None:
    assert remember([o(240, 2)], o(240, 2)) == [o(240, 2)]


def test_progress_view_shows_state_progress_and_planned_replicas() -> None:
    from migration.replication import RegionReplication, ReplicationSnapshot, progress_view

    snapshot = ReplicationSnapshot(
        version_id="v",
        provisioning_state="Creating",
        regions=[
            RegionReplication(region="West US 2", state="Replicating", progress=40),
            RegionReplication(region="East US", state="Completed", progress=100),
        ],
    )
    assert progress_view(snapshot, {"West US 2": 2}) == {
        "West US 2": {"state": "Replicating", "progress": 40, "replicaCount": 2},
        "East US": {"state": "Completed", "progress": 100},
    }
    assert progress_view(snapshot) == {
        "West US 2": {"state": "Replicating", "progress": 40},
        "East US": {"state": "Completed", "progress": 100},
    }
