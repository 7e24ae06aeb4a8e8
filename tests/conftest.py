"""Suite-wide isolation: the suite runs in random order (pytest-randomly; the seed is printed in the header, rerun
one with ``-p randomly -p "randomly_seed=N"`` or ``--randomly-seed=N``), so no test may lean on what an earlier
one left behind.

Process-wide state of the app in this process (the ARM clients, credential and settings cached per process, the
gallery-name cache) is emptied around every test. The servers' state is reset by each suite's own fixtures
(``world``, ``fleet``, ``dh``: the emulator's reset, and the devhost's, which also starts its counters afresh,
releases its breakpoints and empties the app's caches in the devhost through ``--reset-hook``).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest


def _forget_app_process_state() -> None:
    arm = sys.modules.get("activities._arm")  # only where a test imported the app: the SDKs are slow to import
    if arm is not None:
        for cached in (arm.settings, arm.credential, arm.own_identity, arm.compute, arm.resources):
            cached.cache_clear()
    lookups = sys.modules.get("activities.lookups")
    if lookups is not None:
        lookups.forget_gallery_lookups()


@pytest.fixture(autouse=True)
def app_process_state() -> Iterator[None]:
    _forget_app_process_state()
    yield
    _forget_app_process_state()
