"""``migrate_batch`` round by round through the replay engine, with the world scripted down to the episode: items
end in any grouping, duplicates arrive, the hourly look runs, a cancel arrives anywhere, including in the episode in
which the batch continues as new. Whatever the schedule: each image is started once, counted once, nothing starts
after a cancel, every running item is told to cancel, and no execution's history outgrows the round's budget."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from devhost.engine import Outcome
from migration.status import CUSTOM_STATUS_LIMIT_BYTES, utf16_size
from tests.orchestrators.batch_driver import BatchDriver, history_bound

OUTCOMES = ("succeeded", "succeeded", "succeeded", "failed", "canceled", "skipped")
SEEDS = range(24)


def play(driver: BatchDriver, rng: random.Random, *, cancel_after: int | None = None) -> Counter[str]:
    """Run the batch to its end under a random schedule; the outcomes the items reported, by item."""
    reported: dict[int, str] = {}
    moves = 0
    while driver.outcome is Outcome.RUNNING:
        moves += 1
        running = driver.running
        if running and rng.random() < 0.6:
            chosen = rng.sample(running, rng.randint(1, len(running)))
            outcome = rng.choice(OUTCOMES)
            driver.end(*chosen, outcome=outcome, phase="done" if outcome == "succeeded" else "replicating")
            reported.update({q: outcome for q in chosen})
            if rng.random() < 0.2:
                driver.raise_again(rng.choice(chosen))
        if cancel_after is not None and moves == cancel_after:
            driver.cancel()
        if rng.random() < 0.05:
            driver.fire_timers()
        if driver.queue:
            driver.step()  # one episode at a time: events interleave with activity results
        elif not driver.running:
            driver.fire_timers()
        assert moves < 10_000, "the batch never ended"
    return Counter(reported.values())


@pytest.mark.parametrize("seed", SEEDS)
def test_any_schedule_starts_each_image_once_and_counts_it_once(seed: int) -> None:
    rng = random.Random(seed)
    driver = BatchDriver(images=40, cap=rng.choice([1, 3, 7]), round_tasks=20)
    reported = play(driver, rng)

    assert driver.outcome is Outcome.COMPLETED, driver.output
    assert [q for call in driver.starts for q in call] == list(range(40))  # in order, each once
    counts = driver.output["counts"]
    assert {k: counts[k] for k in ("succeeded", "failed", "canceled", "skipped")} == {
        k: reported[k] for k in ("succeeded", "failed", "canceled", "skipped")
    }
    assert (counts["total"], counts["queued"], counts["running"], counts["notStarted"]) == (40, 0, 0, 0)
    assert driver.output["rounds"] == len(driver.executions) - 1 > 2
    assert max(e.history_length for e in driver.episodes) <= history_bound(20, driver.cap)


def test_some_schedules_deliver_events_in_the_episode_that_continues_as_new() -> None:
    """The case :meth:`BatchRound.absorb` exists for happens under these schedules (so the test above covers it)."""
    crowded = 0
    for seed in SEEDS:
        driver = BatchDriver(images=40, cap=random.Random(seed).choice([1, 3, 7]), round_tasks=20)
        play(driver, random.Random(seed))
        crowded += sum(
            1
            for e in driver.episodes
            if e.outcome is Outcome.CONTINUED_AS_NEW and sum(n.startswith("image-") for n in e.delivered) > 1
        )
    assert crowded >= 3, crowded


@pytest.mark.parametrize("seed", SEEDS)
def test_a_cancel_anywhere_starts_nothing_more_and_cancels_every_running_item(seed: int) -> None:
    rng = random.Random(seed)
    driver = BatchDriver(images=30, cap=rng.choice([2, 5]), round_tasks=20)
    play(driver, rng, cancel_after=rng.randint(1, 25))

    assert driver.outcome is Outcome.COMPLETED
    delivered = next(i for i, e in enumerate(driver.episodes) if "cancel" in e.delivered)
    assert all(episode < delivered for episode in driver.start_episodes)  # nothing scheduled once it arrived
    started = [q for call in driver.starts for q in call]
    in_order = [name for e in driver.episodes[: delivered + 1] for name in e.delivered]
    ended_before = set(_ends(in_order[: in_order.index("cancel")]))  # they had ended: nothing to cancel
    told = {item for call in driver.cancels for item in call}
    assert {driver.item(q) for q in started if q not in ended_before} <= told
    assert driver.output["status"] == "canceled"
    counts = driver.output["counts"]
    assert counts["notStarted"] == 30 - len(started)
    assert counts["queued"] == counts["running"] == 0


def test_a_cancel_in_the_episode_that_continues_as_new_is_carried_to_the_next_round() -> None:
    """Seen in some schedule: a cancel delivered with the activity result that ends a round, applied by absorb."""
    carried = 0
    for seed in SEEDS:
        rng = random.Random(seed)
        driver = BatchDriver(images=30, cap=rng.choice([2, 5]), round_tasks=20)
        play(driver, rng, cancel_after=rng.randint(1, 25))
        carried += any(e.outcome is Outcome.CONTINUED_AS_NEW and "cancel" in e.delivered for e in driver.episodes)
    assert carried >= 1


def test_an_item_whose_event_never_comes_is_counted_by_the_hourly_look() -> None:
    driver = BatchDriver(images=3, cap=3)
    driver.settle()
    assert driver.running == [0, 1, 2]
    driver.end(0, 1)
    driver.settle()
    driver.ended_items[2] = {"runtimeStatus": "Terminated", "outcome": "failed", "phase": None}
    driver.fire_timers()
    driver.settle()
    assert driver.outcome is Outcome.COMPLETED
    assert driver.output["counts"]["failed"] == 1
    assert driver.output["counts"]["succeeded"] == 2


def test_the_custom_status_stays_small_at_the_largest_cap_with_the_longest_names() -> None:
    driver = BatchDriver(images=300, cap=100, round_tasks=1000, name_length=80)
    rng = random.Random(7)
    play(driver, rng)
    assert driver.outcome is Outcome.COMPLETED
    assert max(utf16_size(status) for status in driver.statuses) < CUSTOM_STATUS_LIMIT_BYTES // 2
    assert max(e.history_length for e in driver.episodes) <= history_bound(1000, driver.cap)


def _ends(delivered: list[str]) -> list[int]:
    return [int(name.removeprefix("image-")) for name in delivered if name.startswith("image-")]
