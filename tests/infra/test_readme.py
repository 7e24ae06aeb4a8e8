"""infra/README.md says what the template does: its role tables, parameters, outputs and names are checked here."""

from __future__ import annotations

import re

from migration.settings import env_names
from tests.infra.arm_expressions import evaluate
from tests.infra.template import (
    README_PATH,
    ROLE_DEFINITION,
    ROOT,
    context,
    load_template,
    parameter_name,
    resources_of_type,
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


def test_migration_role_table_is_exactly_the_role():
    assert table_actions("### Migration role") == role_actions(include_boot_test=False)


def test_boot_test_role_table_is_exactly_what_the_boot_test_adds():
    base = role_actions(include_boot_test=False)
    assert table_actions("### Boot-test role") == [a for a in role_actions(include_boot_test=True) if a not in base]


def test_every_action_names_code_that_exists_and_a_scenario():
    rows = list(_ROW.finditer(section("## What the app's identity may do")))
    assert len(rows) == len(role_actions(include_boot_test=True))
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
    outer = context(parameters={"appName": "$APP", "enableBootTest": True})
    names = [evaluate(r.resource["properties"]["roleName"], outer) for r in resources_of_type(ROLE_DEFINITION)]
    for name in names:
        assert f'--name "{name}"' in section("## Remove everything"), name


def test_the_guide_deploys_this_template_and_publishes_with_core_tools():
    deploy = section("## Deploy")
    assert deploy.count("--template-file infra/azuredeploy.json") == 2
    assert "subscribeToEvents=false" in deploy
    assert 'func azure functionapp publish "$APP" --python' in deploy
