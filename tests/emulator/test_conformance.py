"""Conformance: every stored x-ms-example of an emulated operation is accepted, and the traffic the emulator
answered with validates against the official specs with Microsoft's validator (``oav validate-traffic``).

The scale-set operations have no stored spec (see azure-specs/README.md): their examples are run and accepted,
and their responses are checked for the field the app reads, but oav cannot validate them."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from azure.identity import ManagedIdentityCredential

from emulator.control import EmulatorControl
from localrun.processes import REPO_ROOT, ServerProcess
from tests.emulator.conformance import EXPECTED_REFUSALS, SPEC_FILES, Outcome, run_example, spec_examples
from tests.emulator.conftest import SCOPE

OAV = REPO_ROOT / ".tools" / "oav" / "node_modules" / ".bin" / "oav"
pytestmark = pytest.mark.conformance
MIN_COVERED = {"gallery": 14, "images": 6, "tags": 3}  # every emulated operation that has a stored example


@pytest.fixture(scope="module")
def outcomes(emulator_process: ServerProcess) -> list[Outcome]:
    info = emulator_process.info
    ctl = EmulatorControl(info)
    token = ManagedIdentityCredential().get_token(*SCOPE).token
    results = [run_example(spec, op, ex, str(info["armEndpoint"]), token, ctl) for spec, op, ex in spec_examples()]
    ctl.reset()
    return results


def test_every_stored_example_is_accepted(outcomes: list[Outcome]) -> None:
    assert len(outcomes) >= 30
    refused = {o.example: (o.status, o.body) for o in outcomes if o.status >= 400}
    assert set(refused) == set(EXPECTED_REFUSALS), refused
    vm_source = refused["GalleryImageVersion_Create_WithStorageAccountStrategy.json"]
    assert vm_source[0] == 400
    assert "virtual machine and community gallery sources are not emulated" in vm_source[1]["error"]["message"]


def test_scale_set_examples_without_a_spec(outcomes: list[Outcome]) -> None:
    by_op = {o.operation_id: o for o in outcomes if o.spec == "vmss"}
    assert by_op["VirtualMachineScaleSets_CreateOrUpdate"].status == 201
    created = by_op["VirtualMachineScaleSets_CreateOrUpdate"].body
    assert created["properties"]["virtualMachineProfile"]["storageProfile"]["imageReference"]["id"].endswith(
        "/providers/Microsoft.Compute/images/{existing-custom-image-name}"
    )
    assert by_op["VirtualMachineScaleSets_ListAll"].status == 200
    updated = by_op["VirtualMachineScaleSets_Update"]  # an empty PATCH: 200 with the resource, as the example
    assert (updated.status, updated.body["location"]) == (200, "westus")


def test_recorded_traffic_validates_with_oav(outcomes: list[Outcome], tmp_path: Path) -> None:
    assert OAV.exists(), "oav is not installed: `make test` installs it (`make tools`)"
    for o in outcomes:
        if o.spec in SPEC_FILES and o.status < 400 and o.traffic:
            folder = tmp_path / o.spec
            folder.mkdir(exist_ok=True)
            (folder / f"{o.operation_id}__{o.example}").write_text(json.dumps(o.traffic))
    failures = {}
    for spec, spec_file in SPEC_FILES.items():
        report = tmp_path / f"{spec}-report.json"
        proc = subprocess.run(
            [
                str(OAV),
                "validate-traffic",
                str(tmp_path / spec),
                str(spec_file),
                "--report",
                "",
                "--jsonReport",
                str(report),
                "-l",
                "error",
            ],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        data = json.loads(report.read_text())
        covered = data.get("coveredOperations")
        errors = data.get("errors", [])
        if proc.returncode != 0 or errors:
            failures[spec] = {"rc": proc.returncode, "errors": errors, "stderr": proc.stderr[-2000:]}
        assert covered >= MIN_COVERED[spec], f"oav covered {covered} operations of {spec}: {proc.stdout[-2000:]}"
    assert not failures, json.dumps(failures, indent=1)[:8000]
