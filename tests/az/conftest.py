"""The Azure CLI walk-through runs only through ``make test-az`` (which installs the CLI, about 700 MB, under
``.tools/azure-cli`` and sets ``AZ_CLI``); ``make test`` and CI leave this directory out. CI covers the same wire
behaviours with plain HTTP in ``tests/emulator/test_generic_arm.py`` and ``test_throttling.py``."""

from __future__ import annotations

import os
from pathlib import Path


def pytest_ignore_collect(collection_path: Path) -> bool | None:
    if not os.environ.get("AZ_CLI") and collection_path.name.startswith("test_"):
        return True
    return None
