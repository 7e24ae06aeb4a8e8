"""Fixtures: one emulator process per session (virtual clock, demo seed, state in a directory), reset before each
test, and the real SDK clients pointed at it through the managed-identity environment. After each test the
emulator checks that its state directory holds exactly what it has in memory, so every test also proves that
each change it made was saved."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from azure.identity import ManagedIdentityCredential
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.resource.resources import ResourceManagementClient

from emulator.control import EmulatorControl
from localrun.processes import REPO_ROOT, ServerProcess

SUB = "00000000-0000-4000-8000-000000000001"
RG = "demo-rg"
RG_ID = f"/subscriptions/{SUB}/resourceGroups/{RG}"
IMAGE_ID = f"{RG_ID}/providers/Microsoft.Compute/images/ubuntu-web-01"
GALLERY = "demo_gallery"
DEMO_SEED = REPO_ROOT / "emulator" / "seeds" / "demo.json"
SCOPE = ["https://management.azure.com/.default"]
# The emulator's mechanics through the SDK pollers, which cannot move a virtual clock: the explicit "fast" profile
# (image and version writes done at the next request); replication timing is set per test. Azure's defaults are
# tested by the recorded-traffic suite (tests/recordings).
TEST_SETTINGS: dict[str, Any] = {"recordBodies": True}


def start_emulator(tmp: Path, *extra: str) -> ServerProcess:
    config = tmp / "emulator-config.json"
    config.write_text(json.dumps(TEST_SETTINGS))
    args = ["--port", "0", "--clock", "virtual", "--profile", "fast", "--seed", str(DEMO_SEED), "--config", str(config)]
    args += extra
    if "--state" not in extra:  # with --state the certificates live in the state directory
        args += ["--certs-dir", str(tmp / "certs")]
    return ServerProcess("emulator", args, log_path=tmp / "emulator.log").start()


@pytest.fixture(scope="session")
def emulator_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    tmp = tmp_path_factory.mktemp("emulator")
    proc = start_emulator(tmp, "--state", str(tmp / "state"))
    saved = {
        k: os.environ.get(k) for k in ("IDENTITY_ENDPOINT", "IDENTITY_HEADER", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE")
    }
    os.environ.update(EmulatorControl(proc.info).client_env())
    yield proc
    proc.stop()
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture
def control(emulator_process: ServerProcess) -> Iterator[EmulatorControl]:
    ctl = EmulatorControl(emulator_process.info)
    ctl.reset()
    yield ctl
    assert ctl.check_state() == [], "changes made in memory but not saved to the state directory"


@pytest.fixture
def arm(emulator_process: ServerProcess) -> str:
    return str(emulator_process.info["armEndpoint"])


@pytest.fixture
def credential(control: EmulatorControl) -> ManagedIdentityCredential:
    return ManagedIdentityCredential()


@pytest.fixture
def compute(arm: str, credential: ManagedIdentityCredential) -> ComputeManagementClient:
    return ComputeManagementClient(
        credential, SUB, base_url=arm, credential_scopes=SCOPE, polling_interval=0.01, retry_backoff_factor=0.01
    )


@pytest.fixture
def resources(arm: str, credential: ManagedIdentityCredential) -> ResourceManagementClient:
    return ResourceManagementClient(
        credential, SUB, base_url=arm, credential_scopes=SCOPE, polling_interval=0.01, retry_backoff_factor=0.01
    )
