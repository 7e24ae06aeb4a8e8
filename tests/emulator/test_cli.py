"""Command-line flags that the shared session process does not use: --role, --tags-event-subject, --silent."""

from __future__ import annotations

import json
from pathlib import Path

from emulator.control import EmulatorControl
from tests.emulator.conftest import start_emulator


def test_role_file_and_tags_subject_flags(tmp_path: Path) -> None:
    role = tmp_path / "role.json"
    role.write_text(
        json.dumps(
            {
                "type": "Microsoft.Authorization/roleDefinitions",
                "properties": {
                    "roleName": "image-reader",
                    "permissions": [{"actions": ["Microsoft.Compute/images/read"]}],
                },
            }
        )
    )
    proc = start_emulator(
        tmp_path, "--in-memory", "--role", str(role), "--tags-event-subject", "tags-resource", "--silent"
    )
    try:
        ctl = EmulatorControl(proc.info)
        assert ctl.role() == {
            "name": "image-reader",
            "actions": ["Microsoft.Compute/images/read"],
            "notActions": [],
            "scopes": [],
        }
        assert ctl.config()["eventgrid"]["tagsEventSubject"] == "tags-resource"
        ctl.reset()
        assert (ctl.role() or {}).get("name") == "image-reader"  # the --role file survives a reset
        assert "ARM emulator listening" not in proc.log_tail()
    finally:
        proc.stop()
