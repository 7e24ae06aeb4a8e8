"""One emulator on its defaults (Azure's, nothing configured) for the recorded-traffic suite, and the table of
results printed at the end of every pytest run that replayed recordings."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from emulator.control import EmulatorControl
from localrun.processes import ServerProcess
from localrun.stack import IdentityEndpointCredential
from tests.recordings.allowlist import AllowList
from tests.recordings.replay import Replayer, Report

REPORTS: list[Report] = []


@pytest.fixture(scope="session")
def replayer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Replayer]:
    tmp: Path = tmp_path_factory.mktemp("oracle")
    args = ["--port", "0", "--clock", "virtual", "--in-memory", "--certs-dir", str(tmp / "certs")]
    process = ServerProcess("emulator", args, log_path=tmp / "emulator.log").start()
    try:
        control = EmulatorControl(process.info)
        info = process.info
        credential = IdentityEndpointCredential(
            str(info["identityEndpoint"]), str(info["identityHeader"]), control.ca_bundle, "oracle"
        )
        token = credential.get_token("https://management.azure.com/.default").token
        yield Replayer(control, str(info["armEndpoint"]), token, AllowList())
    finally:
        process.stop()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not REPORTS:
        return
    write = terminalreporter.write_line
    terminalreporter.section("recorded Azure traffic: the emulator's answers compared with Azure's")
    header = f"{'recording':46} {'replayed':>8} {'matching':>8} {'allowed':>8} {'differing':>9} {'skipped':>8}"
    write(header)
    totals = [0, 0, 0, 0, 0]
    for r in sorted(REPORTS, key=lambda r: r.recording):
        row = [r.replayed, r.count("match"), r.count("allowed"), r.count("differ"), r.count("skipped")]
        totals = [a + b for a, b in zip(totals, row, strict=True)]
        write(f"{r.recording:46} {row[0]:>8} {row[1]:>8} {row[2]:>8} {row[3]:>9} {row[4]:>8}")
    write(f"{'total':46} {totals[0]:>8} {totals[1]:>8} {totals[2]:>8} {totals[3]:>9} {totals[4]:>8}")
    write(
        "allowed = differs from Azure for a reason in tests/recordings/allowlist.yaml; skipped = outside the emulated "
        "surface (networks, deployments, key vaults, Graph, other providers, VM actions; VMs are seeded instead)"
    )
