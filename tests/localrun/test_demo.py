"""The demo's result: a table on a terminal, plain unwrapped lines in pipes and CI logs, JSON with --json."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest
from rich.console import Console

from localrun.demo import IMAGE, print_outcome
from localrun.processes import REPO_ROOT

VERSION = (
    "/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/demo-rg/providers/Microsoft.Compute"
    "/galleries/demo_gallery/images/ubuntu-web-01/versions/1.0.0"
)
OUTPUT = {
    "outcome": "succeeded",
    "definitionId": VERSION.rsplit("/versions/", 1)[0],
    "versionId": VERSION,
    "regions": {"westus2": "Completed"},
    "validation": [{"name": "os-disk", "passed": True}, {"name": "data-disks", "passed": True}],
    "sourceDeleted": True,
    "phaseSeconds": {"replicating": 29.0},
}


def test_outside_a_terminal_resource_ids_stay_on_one_line() -> None:
    out = io.StringIO()
    print_outcome(OUTPUT, Console(file=out, force_terminal=False, width=80))
    lines = out.getvalue().splitlines()
    assert f"  Version: {VERSION}" in lines
    assert any(line.strip() == "✔ data-disks" for line in lines)


def test_on_a_terminal_it_is_a_table() -> None:
    out = io.StringIO()
    print_outcome(OUTPUT, Console(file=out, force_terminal=True, width=200))
    assert "Migration result" in out.getvalue()
    assert "│" in out.getvalue()
    assert VERSION in out.getvalue()


@pytest.mark.e2e
def test_demo_json_for_scripts_and_plain_lines_in_a_pipe() -> None:
    # the real clock, as `make demo` runs it: the demo's own settings must fit its time limit (the promotion's
    # first look at Azure's 151 s once held it past 180 s)
    done = subprocess.run(
        [sys.executable, "-m", "localrun", "demo", "--json"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    document = json.loads(done.stdout)  # stdout holds the JSON document and nothing else
    assert document["output"]["outcome"] == "succeeded"
    version = document["output"]["versionId"]
    assert f"  Version: {version}" in done.stderr.splitlines()  # the human view, unwrapped
    assert "/api/console" in done.stderr
    assert f"Tagging {IMAGE}" in done.stderr.splitlines()  # every line of the progress, not only the result
