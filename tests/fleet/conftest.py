"""Emulator + devhost stacks for the fleet suite (virtual clock), reset before each test.

``fleet``: the app's default schedule and budget. The app's Event Grid subscription is off unless a test turns
it on (``fleet.stack.subscribe()``): every status tag a migration writes comes back as an event the trigger
reads and ignores, which doubles the wall time of a 50-image batch and tests nothing the e2e suite does not.

``rounds``: ``BATCH_ROUND_TASKS`` at its minimum, so a batch continues as new every few migrations.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from localrun.stack import LocalStack
from tests.e2e.conftest import E2E_SETTINGS
from tests.fleet.fleet_world import FleetWorld

ROUND_SETTINGS = {**E2E_SETTINGS, "BATCH_ROUND_TASKS": "20"}


def _world(stack: LocalStack) -> FleetWorld:
    stack.arm.reset(reseed=False)
    stack.host.reset()
    stack.host.clock(auto_advance=True)
    world = FleetWorld(stack)
    world.replication_takes(3600)
    return world


def _stack(settings: dict[str, str]) -> Iterator[LocalStack]:
    with LocalStack(clock="virtual", seed=None, settings=settings, subscribe_events=False) as running:
        yield running


@pytest.fixture(scope="session")
def fleet_stack() -> Iterator[LocalStack]:
    yield from _stack(E2E_SETTINGS)


@pytest.fixture
def fleet(fleet_stack: LocalStack) -> FleetWorld:
    return _world(fleet_stack)


@pytest.fixture(scope="session")
def rounds_stack() -> Iterator[LocalStack]:
    yield from _stack(ROUND_SETTINGS)


@pytest.fixture
def rounds(rounds_stack: LocalStack) -> FleetWorld:
    return _world(rounds_stack)
