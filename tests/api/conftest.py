"""A stack for the API suite: emulator + devhost serving the app, seeded with the world the OpenAPI examples
name (so the examples phase drives real migrations, plans and batches)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from localrun.stack import LocalStack
from tests.e2e.conftest import E2E_SETTINGS
from tests.e2e.world import gallery, image, seed_document


@pytest.fixture(scope="session")
def api_stack() -> Iterator[LocalStack]:
    with LocalStack(clock="virtual", seed=None, settings=E2E_SETTINGS, subscribe_events=False) as running:
        running.arm.seed(seed_document(gallery(), image("web-01"), image("web-02"), image("api-01")))
        running.arm.configure({"replication": {"fixedSeconds": 600, "queuedSeconds": 30}})
        yield running
