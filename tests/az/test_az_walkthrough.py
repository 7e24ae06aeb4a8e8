"""The README's walk-through, as a user runs it: ``make up`` in one terminal, and in another only the Azure CLI
(unmodified, ``AZ_CLI``): register the local cloud, log in with its managed identity, look around, tag the image,
watch the tags and the replication, and see the source disappear. Writes the transcript to
``.state/az-walkthrough.txt`` (``docs/az-walkthrough.md`` quotes one)."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from localrun.processes import REPO_ROOT
from localrun.up import az_login_lines

TRANSCRIPT = REPO_ROOT / ".state" / "az-walkthrough.txt"
VERSION_ARGS = "-g demo-rg -r demo_gallery -i ubuntu-web-01 -e 1.0.0"


class Shell:
    """A user's shell after ``source env.sh``: runs command lines with that environment, keeps a transcript."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.lines: list[str] = []

    def run(self, command: str, *, check: bool = True, quiet: bool = False) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            ["bash", "-c", command], env=self.env, capture_output=True, text=True, timeout=120, check=False
        )
        if not quiet:
            self.lines.append(f"$ {command}")
            output = (done.stdout + done.stderr).strip()
            self.lines += [f"  {line}" for line in output.splitlines()[:25]]
        if check and done.returncode != 0:
            raise AssertionError(f"{command} -> {done.returncode}\n{done.stdout}\n{done.stderr}")
        return done

    def json(self, command: str) -> Any:
        return json.loads(self.run(command + " -o json").stdout)

    def until(self, command: str, done: Callable[[subprocess.CompletedProcess[str]], bool], timeout: float) -> str:
        """Re-run ``command`` until ``done``; the transcript shows the first and the last answer."""
        deadline = time.monotonic() + timeout
        first = self.run(command, check=False)
        result = first
        while not done(result):
            assert time.monotonic() < deadline, f"{command}: still {result.stdout}{result.stderr}"
            time.sleep(2)
            result = self.run(command, check=False, quiet=True)
        if result is not first:
            self.lines.append(f"$ {command}    # again, until it changed")
            self.lines += [f"  {line}" for line in (result.stdout + result.stderr).strip().splitlines()[:25]]
        return result.stdout


@pytest.fixture
def local_cloud(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], dict[str, str]]]:
    """``make up`` (free ports, its own state directory) and the environment its env.sh exports."""
    state = tmp_path / "up"
    log = (tmp_path / "up.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "localrun", "up", "--state-dir", str(state), "--arm-port", "0", "--host-port", "0"],
        cwd=REPO_ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    env_file = state / "env.sh"
    deadline = time.monotonic() + 90
    while not env_file.exists():
        assert proc.poll() is None, (tmp_path / "up.log").read_text()
        assert time.monotonic() < deadline, "make up did not come up"
        time.sleep(0.2)
    env = dict(os.environ)
    for line in env_file.read_text().splitlines():
        if line.startswith("export "):
            name, _, value = line.removeprefix("export ").partition("=")
            env[name] = shlex.split(value)[0]
    env["PATH"] = f"{Path(os.environ['AZ_CLI']).parent}:{env['PATH']}"
    yield proc, env
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    log.close()


def test_the_whole_migration_with_az_only(local_cloud: tuple[subprocess.Popen[bytes], dict[str, str]]) -> None:
    proc, env = local_cloud
    sh = Shell(env)
    for line in az_login_lines():  # exactly what make up prints
        sh.run(line)
    account = sh.json("az account show")
    assert account["id"] == env["AZURE_SUBSCRIPTION_ID"]
    assert account["user"] == {
        "assignedIdentityInfo": "MSI",
        "name": "systemAssignedIdentity",
        "type": "servicePrincipal",
    }
    assert [g["name"] for g in sh.json("az group list")] == ["demo-rg"]
    assert sh.run("az group exists -n demo-rg").stdout.strip() == "true"
    assert [i["name"] for i in sh.json("az image list")] == ["ubuntu-web-01"]
    sh.run("az resource list -o table")
    listed = sh.json("az resource list --tag team=platform")
    assert [r["name"] for r in listed] == ["ubuntu-web-01"]
    gallery = sh.json("az resource show -g demo-rg -n demo_gallery --resource-type Microsoft.Compute/galleries")
    sh.run(f"az resource tag --ids {gallery['id']} --tags owner=platform -i -o none")
    assert sh.json(f"az resource show --ids {gallery['id']}")["tags"]["owner"] == "platform"

    # The trigger: one tag on the image, with the Tags API, as the README says.
    sh.run(
        'az tag update --operation merge --resource-id "$DEMO_IMAGE_ID" '
        '--tags migrate-to-gallery=demo_gallery "migrate-regions=westus2=1;eastus=1" -o none'
    )
    status = 'az tag list --resource-id "$DEMO_IMAGE_ID" --query "properties.tags.\\"migration-status\\"" -o tsv'
    assert sh.until(status, lambda r: r.stdout.strip() in ("running", "succeeded") or r.returncode != 0, 60)
    replication = (
        f"az sig image-version show {VERSION_ARGS} --expand ReplicationStatus --query "
        '"{state: provisioningState, replication: replicationStatus.aggregatedState, '
        'regions: replicationStatus.summary[].[region, state, progress]}" -o json'
    )
    sh.until(replication, lambda r: '"replication": "Completed"' in r.stdout, 180)
    # The source disappears once the version is validated in every region.
    gone = sh.until(
        'az image show --ids "$DEMO_IMAGE_ID" --query name -o tsv',
        lambda r: "ResourceNotFound" in r.stderr,
        180,
    )
    assert gone == ""
    version = sh.json(f"az sig image-version show {VERSION_ARGS}")
    assert version["tags"]["migration-source-deleted"] == "true"
    assert version["publishingProfile"]["excludeFromLatest"] is False  # promoted after validation
    assert sh.json("az image list") == []
    sh.run("az resource list -o table")
    sh.run("az tag list --query \"[?tagName=='migration-id'].values[].tagValue\" -o tsv")
    summary = sh.run('curl -s -H "x-functions-key: $MIGRATOR_FUNCTION_KEY" "$MIGRATOR_API/migrations"', quiet=True)
    [migration] = json.loads(summary.stdout)["value"]
    assert migration["phase"] == "done"
    throttled = sh.run('curl -s --cacert "$REQUESTS_CA_BUNDLE" "$EMULATOR_CONTROL/throttling"', quiet=True)
    sh.lines.append(f"# 429s the emulator sent: {json.loads(throttled.stdout)['throttled']}")

    TRANSCRIPT.parent.mkdir(exist_ok=True)
    TRANSCRIPT.write_text("\n".join(sh.lines) + "\n")
    print("\n".join(sh.lines))
    proc.send_signal(signal.SIGINT)  # Ctrl-C stops both servers
    assert proc.wait(timeout=30) == 0
