"""Settings are documented in one place and listed everywhere a user sets them."""

import json
from pathlib import Path

from migration.settings import env_names

ROOT = Path(__file__).resolve().parent.parent


def test_local_settings_example_lists_every_setting() -> None:
    values = json.loads((ROOT / "local.settings.json.example").read_text())["Values"]
    missing = set(env_names()) - set(values)
    assert not missing, f"add to local.settings.json.example: {sorted(missing)}"
    assert values["FUNCTIONS_WORKER_RUNTIME"] == "python"
