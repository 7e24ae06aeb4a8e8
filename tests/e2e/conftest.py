"""One emulator + devhost stack for the end-to-end suites (virtual clock), reset before each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from localrun.stack import LocalStack
from tests.e2e.world import World

# Fast, but the same code paths: SDK retries back off briefly, durable waits cost nothing on the virtual clock.
E2E_SETTINGS = {
    "ARM_RETRY_BACKOFF_SECONDS": "0.05",
    "ARM_RETRY_BACKOFF_MAX_SECONDS": "1",
}


@pytest.fixture(scope="session")
def stack() -> Iterator[LocalStack]:
    with LocalStack(clock="virtual", seed=None, settings=E2E_SETTINGS) as running:
        yield running


@pytest.fixture
def world(stack: LocalStack) -> World:
    stack.arm.reset(reseed=False)
    stack.host.reset()
    stack.host.clock(auto_advance=True)
    stack.subscribe()
    w = World(stack)
    w.replication_takes(3600)
    return w
