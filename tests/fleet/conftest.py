"""One emulator + devhost stack for the fleet suite (virtual clock), reset before each test.

The replication schedule is tightened (first and shortest poll 10 s) and the ARM read budget lowered to 20
polls a minute, so a batch's budget floor binds and shows in the emulator's request log."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from localrun.stack import LocalStack
from tests.e2e.conftest import E2E_SETTINGS
from tests.fleet.fleet_world import FleetWorld

FLEET_SETTINGS = {
    **E2E_SETTINGS,
    "REPLICATION_POLL_FIRST_SECONDS": "10",
    "REPLICATION_POLL_MIN_SECONDS": "10",
    "ARM_READ_BUDGET_PER_MINUTE": "20",
    "BATCH_DEFAULT_CONCURRENCY": "4",
}


@pytest.fixture(scope="session")
def fleet_stack() -> Iterator[LocalStack]:
    with LocalStack(clock="virtual", seed=None, settings=FLEET_SETTINGS) as running:
        yield running


@pytest.fixture
def fleet(fleet_stack: LocalStack) -> FleetWorld:
    fleet_stack.arm.reset(reseed=False)
    fleet_stack.host.reset()
    fleet_stack.host.clock(auto_advance=True)
    fleet_stack.subscribe()
    world = FleetWorld(fleet_stack)
    world.replication_takes(3600)
    return world
