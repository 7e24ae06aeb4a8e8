"""The ARM budget's rules (pure): FIFO grants at the lanes' pace, poll leases, the clients' lane, the settings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from migration.budget import (
    BudgetSpec,
    BudgetState,
    Counts,
    account,
    acquire,
    client_room,
    release_lease,
    step_needs,
)
from migration.errors import InvalidRequest
from migration.settings import Settings

T0 = datetime(2026, 12, 8, 9, 0, tzinfo=UTC)
SPEC = BudgetSpec()


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_the_lanes_add_up_to_azures_buckets() -> None:
    for kind in ("reads", "writes", "deletes"):
        granted, clients, bucket = SPEC.granted_lane(kind), SPEC.client_lane(kind), SPEC.bucket(kind)
        leases = SPEC.poll_leases if kind == "reads" else 0
        assert granted.size + clients.size + leases == pytest.approx(bucket.size)
        assert granted.per_second + clients.per_second + leases / SPEC.poll_interval == pytest.approx(bucket.per_second)
    assert (SPEC.reads.size, SPEC.reads.per_second, SPEC.writes.size, SPEC.writes.per_second) == (250, 25, 200, 10)
    assert (SPEC.deletes.size, SPEC.deletes.per_second) == (200, 10)


def test_a_full_lane_grants_at_once_then_at_its_refill_pace_in_order_of_asking() -> None:
    lane = SPEC.granted_lane("writes")  # 160 tokens, 8 a second
    state = BudgetState()
    times = []
    for _ in range(5):
        state, grant = acquire(state, SPEC, now=T0, need=Counts(writes=40))
        times.append((grant.at - T0).total_seconds())
    assert times[:4] == [0, 0, 0, 0]  # 160 tokens: four grants of 40 at once
    assert times[4] == pytest.approx(40 / lane.per_second)  # the fifth when 40 more have dripped in
    state, later = acquire(state, SPEC, now=T0, need=Counts(writes=1))
    assert later.at > at(times[4])  # first come, first served: no overtaking


def test_kinds_are_independent_and_a_step_waits_for_its_slowest_kind() -> None:
    state, _ = acquire(BudgetState(), SPEC, now=T0, need=Counts(deletes=160))  # empties the delete lane
    state, reads_only = acquire(state, SPEC, now=T0, need=Counts(reads=10))
    assert reads_only.at == T0
    state, mixed = acquire(state, SPEC, now=T0, need=Counts(reads=1, deletes=8))
    assert mixed.at == at(1.0)  # eight deletes refill in one second (8 a second)


def test_more_than_a_lane_holds_waits_for_a_full_lane_and_leaves_a_debt() -> None:
    lane = SPEC.granted_lane("reads")
    state, first = acquire(BudgetState(), SPEC, now=T0, need=Counts(reads=int(lane.size) + 50))
    assert first.at == T0  # the lane was full
    state, second = acquire(state, SPEC, now=T0, need=Counts(reads=1))
    assert second.at == T0 + timedelta(seconds=51 / lane.per_second)  # the debt, then its own read


def test_time_never_goes_back_whatever_the_callers_clocks_say() -> None:
    state, _ = acquire(BudgetState(), SPEC, now=at(100), need=Counts(reads=1))
    state, grant = acquire(state, SPEC, now=T0, need=Counts(reads=1))  # a caller whose clock is behind
    assert grant.at == at(100)
    assert state.clock == at(100)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(0, 30), st.integers(0, 60), st.integers(0, 20), st.integers(0, 20)), min_size=1, max_size=60
    )
)
def test_granted_requests_never_overdraw_their_lane(asks: list[tuple[float, int, int, int]]) -> None:
    """Replaying every grant at its own moment against a plain token bucket of the lane's size and refill never
    goes below zero: requests made when granted stay within ARM's bucket."""
    state, clock, spent = BudgetState(), T0, []
    for gap, reads, writes, deletes in asks:
        clock += timedelta(seconds=gap)
        need = Counts(reads=reads, writes=writes, deletes=deletes)
        state, grant = acquire(state, SPEC, now=clock, need=need)
        assert grant.at >= clock
        spent.append((grant.at, need))
    for kind in ("reads", "writes", "deletes"):
        lane = SPEC.granted_lane(kind)
        level, last = lane.size, T0
        for moment, need in sorted(spent, key=lambda item: item[0]):
            level = min(lane.size, level + lane.per_second * (moment - last).total_seconds()) - need.of(kind)
            last = moment
            assert level >= -1e-3, (kind, moment, level)  # timedelta keeps microseconds


def test_poll_leases_are_limited_kept_released_and_lapse() -> None:
    spec = BudgetSpec(poll_leases=2, lease_seconds=600)
    state = BudgetState()
    state, a = acquire(state, spec, now=T0, need=Counts(reads=1), holder="a", lease=True)
    state, again = acquire(state, spec, now=T0, need=Counts(), holder="a", lease=True)
    state, b = acquire(state, spec, now=T0, need=Counts(), holder="b", lease=True)
    state, c = acquire(state, spec, now=T0, need=Counts(), holder="c", lease=True)
    assert (a.lease, again.lease, b.lease, c.lease) == (True, True, True, False)
    assert (state.stats.leases_granted, state.stats.leases_refused) == (2, 1)
    state, after_release = acquire(state, spec, now=T0, need=Counts(), holder="a", release=True)
    assert after_release.lease is False
    state, c_again = acquire(state, spec, now=T0, need=Counts(), holder="c", lease=True)
    assert c_again.lease is True
    state = release_lease(state, holder="c")
    assert set(state.leases) == {"b"}
    state, late = acquire(state, spec, now=at(601), need=Counts(), holder="d", lease=True)
    assert late.lease is True
    assert set(state.leases) == {"d"}  # b's lease lapsed


def test_the_clients_lane_is_spent_afterwards_and_refills() -> None:
    lane = SPEC.client_lane("reads")  # 50 tokens, 5 a second
    state = BudgetState()
    assert client_room(state, SPEC, now=T0, kind="reads") == lane.size
    state = account(state, SPEC, now=T0, used=Counts(reads=60))
    assert client_room(state, SPEC, now=T0, kind="reads") == pytest.approx(-10)  # overdrawn: the next must wait
    assert client_room(state, SPEC, now=at(4), kind="reads") == pytest.approx(10)
    assert client_room(state, SPEC, now=at(100), kind="reads") == lane.size
    state, grant = acquire(state, SPEC, now=T0, need=Counts(reads=10))
    assert grant.at == T0  # the lanes do not share tokens
    assert state.stats.accounted == Counts(reads=60)


def test_a_client_clock_ahead_of_the_orchestrations_never_makes_a_migration_wait() -> None:
    """The Event Grid trigger's clock is another machine's (wall time under the devhost's virtual clock): its
    accounts six minutes ahead once made every later grant wait out those six minutes on a durable timer."""
    state = account(BudgetState(), SPEC, now=at(360), used=Counts(reads=3))
    state, grant = acquire(state, SPEC, now=T0, need=Counts(reads=5, writes=2))
    assert grant.at == T0
    # and the clients' lane keeps its own time: a client clock going back neither refills nor empties it
    assert client_room(state, SPEC, now=at(360), kind="reads") == pytest.approx(SPEC.client_lane("reads").size - 3)
    behind = account(state, SPEC, now=T0, used=Counts(reads=2))
    assert client_room(behind, SPEC, now=at(360), kind="reads") == pytest.approx(SPEC.client_lane("reads").size - 5)


def test_step_needs_add_up_per_subscription() -> None:
    same = step_needs(["run_preflight", "ensure_image_definition"], image_subscription="s", gallery_subscription="s")
    assert same == {"s": Counts(reads=5, writes=2)}
    cased = step_needs(["run_preflight", "ensure_image_definition"], image_subscription="S", gallery_subscription="s")
    assert cased == same
    split = step_needs(["delete_source_image"], image_subscription="A", gallery_subscription="B")
    assert split == {"a": Counts(reads=2, deletes=1), "b": Counts(writes=1)}


def test_settings_refuse_a_budget_with_nothing_left_to_grant() -> None:
    with pytest.raises(InvalidRequest, match="ARM_BUDGET_POLL_LEASES: the poll leases must leave reads to grant"):
        Settings.from_env({"ARM_BUDGET_POLL_LEASES": "200"})
    with pytest.raises(InvalidRequest, match="ARM_BUDGET_CLIENT_SHARE"):
        Settings.from_env({"ARM_BUDGET_CLIENT_SHARE": "0"})
    spec = BudgetSpec.from_settings(Settings.from_env({"ARM_BUDGET_READS_BUCKET": "25", "ARM_BUDGET_POLL_LEASES": "5"}))
    assert spec.granted_lane("reads").size == pytest.approx(25 * 0.8 - 5)
