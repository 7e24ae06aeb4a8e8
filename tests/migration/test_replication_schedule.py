"""The polling schedule, simulated against linear replication with a queued phase."""

import pytest

from migration.replication import Observation, next_poll_delay, remember
from tests.migration.factories import settings


def simulate(duration: float, queued: float = 30.0, **overrides: object) -> tuple[int, float]:
    """(status reads, detection latency) to notice a replication that completes at ``queued + duration``."""
    cfg = settings(**overrides)
    done_at = queued + duration
    observations: list[Observation] = []
    t = 0.0
    reads = 0
    while True:
        t += next_poll_delay(observations, elapsed=t, settings=cfg)
        reads += 1
        progress = 100 if t >= done_at else max(0, int((t - queued) / duration * 100))
        if progress >= 100:
            return reads, t - done_at
        observations = remember(observations, Observation(elapsed=t, progress=progress))


@pytest.mark.parametrize("queued", [0, 30, 300])
@pytest.mark.parametrize("duration", [600, 3600, 6 * 3600])
def test_few_reads_and_bounded_latency(duration: int, queued: int) -> None:
    reads, latency = simulate(duration, queued)
    assert 0 <= latency <= max(60, 0.05 * (duration + queued))
    assert reads <= 13, reads


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


def test_start_delays_are_stable_and_spread_over_the_window() -> None:
    from migration.pacing import start_delay

    delays = [start_delay(f"mig-image-{i}-{i:016x}", 60) for i in range(600)]
    assert delays == [start_delay(f"mig-image-{i}-{i:016x}", 60) for i in range(600)]
    assert min(delays) >= 0
    assert max(delays) <= 60
    per_minute_half = sum(1 for d in delays if d < 30)
    assert 200 < per_minute_half < 400  # roughly uniform: about half in the first half of the window
    assert start_delay("anything", 0) == 0
