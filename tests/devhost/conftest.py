"""Fixtures: one devhost process per session (in memory, virtual clock) serving the conformance app."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from devhost.client import DevhostClient
from localrun.processes import ServerProcess

APPS = Path(__file__).parent / "apps"
CONFORMANCE_APP = APPS / "conformance"


def devhost_args(*extra: str, app: Path = CONFORMANCE_APP) -> list[str]:
    return ["--app", str(app), "--port", "0", "--clock", "virtual", "--control-endpoints", *extra]


@pytest.fixture(scope="session")
def devhost_process() -> Iterator[ServerProcess]:
    with ServerProcess("devhost", devhost_args("--in-memory")) as process:
        yield process


@pytest.fixture
def dh(devhost_process: ServerProcess) -> Iterator[DevhostClient]:
    client = DevhostClient(devhost_process.info)
    client.reset()  # every test starts with no instances and fresh counters (peaks, executions)
    yield client
    client.clock(auto_advance=True)  # a test that held the clock never leaks that into the next one
