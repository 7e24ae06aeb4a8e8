"""With --state DIR everything survives a crash (kill -9) and restart: resources, the operation in flight,
replication progress, the virtual clock, pending deliveries, certificates and the identity secret."""

from __future__ import annotations

from pathlib import Path

import pytest
from azure.identity import ManagedIdentityCredential
from azure.mgmt.compute import ComputeManagementClient

from emulator.control import EmulatorControl
from tests.emulator.conftest import GALLERY, RG, SCOPE, SUB, start_emulator
from tests.emulator.helpers import definition, version


def client(ctl: EmulatorControl, monkeypatch: pytest.MonkeyPatch) -> ComputeManagementClient:
    for key, value in ctl.client_env().items():
        monkeypatch.setenv(key, value)
    return ComputeManagementClient(
        ManagedIdentityCredential(),
        SUB,
        base_url=str(ctl.info["armEndpoint"]),
        credential_scopes=SCOPE,
        polling_interval=0.01,
    )


def test_state_survives_a_crash_and_restart(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    state = tmp_path / "state"
    hook = ("--eventgrid-webhook", "http://127.0.0.1:9/unreachable")
    first = start_emulator(tmp_path, "--state", str(state), *hook)
    try:
        ctl = EmulatorControl(first.info)
        ctl.configure(
            {"replication": {"fixedSeconds": 3600, "queuedSeconds": 0}, "eventgrid": {"retryScheduleSeconds": [3600]}}
        )
        compute = client(ctl, monkeypatch)
        compute.gallery_images.begin_create_or_update(RG, GALLERY, "web", definition()).result()
        compute.gallery_image_versions.begin_create_or_update(RG, GALLERY, "web", "1.0.0", version())
        ctl.advance(1800)
        clock_before = ctl.now()
        ca_before = Path(first.info["caBundle"]).read_bytes()
    finally:
        first.kill()
    second = start_emulator(tmp_path, "--state", str(state), *hook)
    try:
        ctl = EmulatorControl(second.info)
        assert ctl.now() == clock_before
        assert Path(second.info["caBundle"]).read_bytes() == ca_before
        assert Path(second.info["caBundle"]).parent == state / "certs"
        assert second.info["identityHeader"] == first.info["identityHeader"]
        compute = client(ctl, monkeypatch)
        got = compute.gallery_image_versions.get(RG, GALLERY, "web", "1.0.0", expand="ReplicationStatus")
        assert got.provisioning_state == "Creating"
        assert [(s.state, s.progress) for s in got.replication_status.summary] == [("Replicating", 50)]
        assert len(ctl.subscriptions()) == 1  # the --eventgrid-webhook one
        assert [(d["status"], d["operationName"]) for d in ctl.deliveries()] == [
            ("pending", "Microsoft.Compute/galleries/images/write"),
            ("pending", "Microsoft.Compute/galleries/images/versions/write"),
        ]
        ctl.advance(1800)
        assert compute.gallery_image_versions.get(RG, GALLERY, "web", "1.0.0").provisioning_state == "Succeeded"
        op = next(o for o in ctl.operations() if o["resourceId"].endswith("/versions/1.0.0"))
        assert op["status"] == "Succeeded"
    finally:
        second.stop()
