"""With --state DIR everything survives a crash (kill -9) and restart: resources, the operation in flight,
replication progress, the virtual clock, pending deliveries, certificates and the identity secret; and every write
the emulator acknowledged, because it is on disk before the answer leaves."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from azure.identity import ManagedIdentityCredential
from azure.mgmt.compute import ComputeManagementClient, models
from azure.mgmt.resource.resources import ResourceManagementClient

from emulator.control import EmulatorControl
from tests.emulator.conftest import GALLERY, RG, SCOPE, SUB, start_emulator
from tests.emulator.helpers import definition, version, wait_for


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


def resource_client(ctl: EmulatorControl) -> ResourceManagementClient:
    return ResourceManagementClient(
        ManagedIdentityCredential(), SUB, base_url=str(ctl.info["armEndpoint"]), credential_scopes=SCOPE
    )


def appends(ctl: EmulatorControl) -> int:
    return int(ctl.health()["persistence"]["journalAppends"])


def everything(ctl: EmulatorControl) -> dict[str, Any]:
    """What the control plane shows of the stored state (settled at the current clock)."""
    return {
        "clock": ctl.now(),
        "resources": ctl.resources(),
        "operations": ctl.operations(),
        "faults": ctl.faults(),
        "subscriptions": ctl.subscriptions(),
        "deliveries": [(d["id"], d["eventId"], d["status"]) for d in ctl.deliveries()],
    }


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


def test_every_acknowledged_write_survives_kill_9(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Writes of every kind, then kill -9 as soon as the last one is answered: the restarted emulator shows the same
    state. Reads write nothing; a write appends one journal line, not the whole state."""
    state = tmp_path / "state"
    first = start_emulator(tmp_path, "--state", str(state))
    try:
        ctl = EmulatorControl(first.info)
        ctl.configure({"replication": {"fixedSeconds": 3600, "queuedSeconds": 0}, "lro": {"gallerySeconds": 60}})
        compute, resources = client(ctl, monkeypatch), resource_client(ctl)
        ctl.subscribe("http://127.0.0.1:9/unreachable", name="hook", handshake=False)
        compute.gallery_images.begin_create_or_update(RG, GALLERY, "web", definition(), polling=False)
        ctl.advance(60)
        compute.gallery_image_versions.begin_create_or_update(
            RG, GALLERY, "web", "1.0.0", version(("westus2", "eastus")), polling=False
        )
        ctl.add_fault(kind="replication", region="eastus", mode="stall", atProgress=60)
        ctl.advance(1800)
        before = appends(ctl)
        compute.gallery_image_versions.get(RG, GALLERY, "web", "1.0.0", expand="ReplicationStatus")
        list(compute.images.list_by_resource_group(RG))
        assert appends(ctl) == before  # reads save nothing
        compute.galleries.begin_update(
            RG, GALLERY, models.GalleryUpdate({"properties": {"description": "renamed"}}), polling=False
        )
        assert appends(ctl) == before + 1  # one line for the write
        compute.gallery_image_versions.begin_update(
            RG, GALLERY, "web", "1.0.0", models.GalleryImageVersionUpdate(tags={"k": "v"}), polling=False
        )
        resources.tags.begin_update_at_scope(
            f"/subscriptions/{SUB}", {"operation": "Merge", "properties": {"tags": {"owner": "platform"}}}
        ).result()
        resources.resource_groups.create_or_update("other-rg", {"location": "eastus", "tags": {"t": "1"}})
        compute.images.begin_delete(RG, "ubuntu-web-01", polling=False)  # fails eastus of the version (Full mode)
        expected = everything(ctl)
    finally:
        first.kill()
    second = start_emulator(tmp_path, "--state", str(state))
    try:
        ctl = EmulatorControl(second.info)
        assert everything(ctl) == expected
        version_meta = next(r["meta"] for r in expected["resources"] if r["body"]["id"].endswith("/1.0.0"))
        deleted_at = expected["clock"].isoformat().replace("+00:00", "Z")
        assert [(e["key"], e["failure"]["at"]) for e in version_meta["plan"]] == [
            ("westus2", deleted_at),
            ("eastus", deleted_at),
        ]
        compute = client(ctl, monkeypatch)
        tags = resource_client(ctl).tags.get_at_scope(f"/subscriptions/{SUB}")
        assert tags.properties.tags == {"owner": "platform"}
        assert compute.galleries.get(RG, GALLERY).description == "renamed"
        assert [i.name for i in compute.images.list_by_resource_group(RG)] == []
        assert ctl.check_state() == []
    finally:
        second.stop()


def test_a_reset_keeps_command_line_webhooks(tmp_path: Path) -> None:
    proc = start_emulator(tmp_path, "--state", str(tmp_path / "state"), "--eventgrid-webhook", "http://127.0.0.1:9/x")
    try:
        ctl = EmulatorControl(proc.info)
        ctl.subscribe("http://127.0.0.1:9/y", name="added", handshake=False)
        ctl.reset()
        assert [(s["endpoint"], s["builtin"]) for s in ctl.subscriptions()] == [("http://127.0.0.1:9/x", True)]
        assert ctl.check_state() == []
    finally:
        proc.stop()


def test_stops_promptly_while_deliveries_are_being_retried(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """SIGTERM while the delivery loop is busy retrying a dead endpoint: the emulator saves and exits by itself
    (a stop that lost the loop's cancellation used to hang until it was killed)."""
    proc = start_emulator(tmp_path, "--state", str(tmp_path / "state"))
    try:
        ctl = EmulatorControl(proc.info)
        ctl.configure({"eventgrid": {"retryScheduleSeconds": [0.001], "maxDeliveryAttempts": 1000000}})
        for i in range(8):
            ctl.subscribe("http://127.0.0.1:9/refused", name=f"dead-{i}", handshake=False)
        client(ctl, monkeypatch)  # the identity environment
        tags = resource_client(ctl).tags
        tags.begin_update_at_scope(
            f"/subscriptions/{SUB}", {"operation": "Merge", "properties": {"tags": {"k": "v"}}}
        ).result()
        wait_for(lambda: min(d["attempts"] for d in ctl.deliveries()) > 20, "deliveries being retried")
    finally:
        proc.stop(timeout=5)
    assert proc.proc is not None
    assert proc.proc.returncode == 0  # not -9: it exited by itself within the 5 s stop() allows
