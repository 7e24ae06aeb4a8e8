"""One emulator + devhost stack for the end-to-end suites (virtual clock), reset before each test.

Every scenario runs as deployed: the emulator enforces the deployment template's custom roles (RBAC-lite) on
every ARM call of the app's identity, and delivers events through the template's Event Grid filter. A scenario
needing an action the roles lack fails with 403, so the whole suite proves the roles are sufficient.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from localrun.stack import LocalStack
from tests.e2e.world import World
from tests.infra.template import event_subscription_filter

# Fast, but the same code paths: SDK retries back off briefly, durable waits cost nothing on the virtual clock.
BOOT_SUBNET = (
    "/subscriptions/11111111-1111-4111-8111-111111111111/resourceGroups/rg-net/providers/Microsoft.Network"
    "/virtualNetworks/vnet/subnets/boot-tests"
)
E2E_SETTINGS = {
    "ARM_RETRY_BACKOFF_SECONDS": "0.05",
    "ARM_RETRY_BACKOFF_MAX_SECONDS": "1",
    "BOOT_TEST_SUBNET_ID": BOOT_SUBNET,  # used only by migrations that ask for a boot test
}


@pytest.fixture(scope="session")
def stack() -> Iterator[LocalStack]:
    with LocalStack(
        clock="virtual",
        seed=None,
        settings=E2E_SETTINGS,
        event_filter=event_subscription_filter(),
    ) as running:
        yield running


@pytest.fixture
def world(stack: LocalStack) -> World:
    return World.fresh(stack)
