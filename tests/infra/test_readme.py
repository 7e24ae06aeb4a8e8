"""infra/README.md says what the template does: its role tables, parameters, outputs and names are checked here."""

from __future__ import annotations

import re

import pytest

from migration.settings import env_names
from tests.infra.template import (
    ALL_FEATURES,
    README_PATH,
    ROLE_ACTION_VARIABLES,
    ROOT,
    deployed_roles,
    load_template,
    parameter_name,
    role_actions,
)

README = README_PATH.read_text("utf-8")
TEMPLATE = load_template()
_ROW = re.compile(r"^\| `(?P<action>[A-Za-z.]+/[^`]+)` \| (?P<code>[^|]+) \| (?P<scenario>[^|]+) \|$", re.MULTILINE)


def section(heading: str) -> str:
    """From ``heading`` to the next heading of the same or a higher level (``#`` lines in code blocks do not count)."""
    level = len(heading) - len(heading.lstrip("#"))
    lines = README.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(heading))
    fenced, out = False, [lines[start]]
    for line in lines[start + 1 :]:
        fenced ^= line.startswith("```")
        if not fenced and re.match(rf"#{{1,{level}}} ", line):
            break
        out.append(line)
    return "\n".join(out)


def table_actions(heading: str) -> list[str]:
    return [m["action"] for m in _ROW.finditer(section(heading))]


@pytest.mark.parametrize(
    ("heading", "role"),
    [("### Source-image role", "source-images"), ("### Gallery role", "gallery"), ("### Boot-test role", "boot-test")],
)
def test_each_role_table_is_exactly_the_role(heading: str, role: str):
    """Every action the role can hold, optional ones included (each says which parameter adds it)."""
    assert table_actions(heading) == role_actions(role, ALL_FEATURES)


def test_every_action_names_code_that_exists_and_a_scenario():
    rows = list(_ROW.finditer(section("## What the app's identity may do")))
    assert len(rows) == sum(len(role_actions(role, ALL_FEATURES)) for role in ROLE_ACTION_VARIABLES)
    for row in rows:
        references = re.findall(r"`([\w/]+\.py)::(\w+)`", row["code"])
        assert references, row["action"]
        for path, function in references:
            source = (ROOT / path).read_text("utf-8")
            assert re.search(rf"^(async )?def {function}\(", source, re.MULTILINE), f"{path}::{function}"
        assert row["scenario"].strip(), row["action"]


def test_parameter_table_lists_every_infrastructure_parameter():
    settings_parameters = {parameter_name(env) for env in env_names()}
    infrastructure = [p for p in TEMPLATE["parameters"] if p not in settings_parameters]
    listed = re.findall(r"^\| `(\w+)` \|", section("## Parameters"), re.MULTILINE)
    assert listed == infrastructure


def test_outputs_the_guide_reads_exist():
    for name in re.findall(r"properties\.outputs\.(\w+)\.value", README):
        assert name in TEMPLATE["outputs"], name


def test_role_names_in_the_removal_commands_are_the_template_s():
    parameters = {"appName": "$APP", "enableBootTest": True, "imageResourceGroupIds": ["/s/x/resourceGroups/rg"]}
    for role in deployed_roles(parameters):
        assert f'--name "{role.name}"' in section("## Remove everything"), role.name


def test_the_guide_deploys_this_template_and_publishes_with_core_tools():
    deploy = section("## Deploy")
    assert deploy.count("--template-file infra/azuredeploy.json") == 2
    assert "subscribeToEvents=false" in deploy
    assert 'func azure functionapp publish "$APP" --python' in deploy
