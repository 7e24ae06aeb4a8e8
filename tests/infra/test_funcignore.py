"""The published package holds only what runs in Azure: ``.funcignore`` applied the way Core Tools applies it."""

from __future__ import annotations

import os

import pytest

from tests.infra.funcignore import FuncIgnore, published
from tests.infra.template import ROOT

APP_FILES = {"function_app.py", "host.json", "requirements.txt"}
APP_PACKAGES = ("migration", "activities", "orchestrators", "triggers", "console")
CONSOLE_ASSETS = "console/static/"  # the operator console's page, scripts and styles
# Not walked (large or generated); represented by the sample files below instead.
UNWALKED = {".git", ".venv", ".tools", "node_modules", ".mypy_cache", ".ruff_cache", ".pytest_cache", ".hypothesis"}
LOCAL_ARTIFACTS = [
    ".venv/bin/python",
    ".venv/lib/python3.11/site-packages/azure/functions/__init__.py",
    ".tools/oav/node_modules/oav/package.json",
    ".python_packages/lib/site-packages/pydantic/__init__.py",
    "migration/__pycache__/settings.cpython-311.pyc",
    "activities/__pycache__/_arm.cpython-311.pyc",
    "__pycache__/function_app.cpython-311.pyc",
    "local.settings.json",
    ".state/emulator/state.json",
    ".demo/devhost.sqlite",
    ".mypy_cache/3.11/cache.db",
]


def repository_files() -> list[str]:
    found = []
    for folder, subfolders, files in os.walk(ROOT):
        subfolders[:] = [d for d in subfolders if d not in UNWALKED]
        found += [os.path.relpath(os.path.join(folder, f), ROOT).replace(os.sep, "/") for f in files]
    return found


def runtime_files(paths: list[str]) -> set[str]:
    """What must be published: the app's root files, every Python module of its packages, the console's assets."""
    return {
        p
        for p in paths
        if p in APP_FILES
        or (p.split("/")[0] in APP_PACKAGES and p.endswith(".py") and "__pycache__" not in p.split("/"))
        or (p.startswith(CONSOLE_ASSETS) and "/" not in p[len(CONSOLE_ASSETS) :])
    }


@pytest.fixture(scope="module")
def funcignore() -> FuncIgnore:
    return FuncIgnore((ROOT / ".funcignore").read_text("utf-8"))


def test_package_is_exactly_the_app(funcignore):
    paths = repository_files() + LOCAL_ARTIFACTS
    package = set(published(paths, funcignore))
    expected = runtime_files(paths)
    assert {"extra": sorted(package - expected), "missing": sorted(expected - package)} == {"extra": [], "missing": []}
    assert {"function_app.py", "migration/settings.py", "triggers/event_grid.py", "console/static/app.js"} <= package


def test_development_folders_are_left_out(funcignore):
    package = published(repository_files(), funcignore)
    for folder in ("emulator/", "devhost/", "localrun/", "bench/", "tests/", "third_party/", "infra/", "docs/"):
        assert not [p for p in package if p.startswith(folder)], folder


def test_a_nested_package_module_would_be_reported_missing(funcignore):
    """The check guards the future too: a subpackage needs its own line, and the test says which file lacks it."""
    nested = "activities/steps/submit.py"
    assert nested in runtime_files([nested])
    assert published([nested], funcignore) == []


# --- the parser port behaves like Core Tools' GitIgnoreParser (cases from its unit tests, restated) ------------

CORE_TOOLS_SAMPLE = """# comment
node_modules
*.log
nonexistent
!/nonexistent/foo
/baz
foo/*.wat
/test1
test2
othernonexistent/**/what
!/othernonexistent/**/what/foo
*.swp
"""


@pytest.mark.parametrize(
    ("path", "accepted"),
    [
        ("test/index.js", True),
        ("wat/test/index.js", True),
        ("test1File.wat", True),
        ("nonexistent/foo", True),  # a "!" line re-includes inside an ignored folder
        ("nonexistent/foo/wat", True),
        ("othernonexistent/blah/what/foo", True),
        ("test.swp", False),
        ("node_modules/what.js", False),
        ("foo/bar.wat", False),
        ("othernonexistent/blah/what", False),
        ("nonexistent", False),
        ("nonexistent/bar", False),
        ("test2", False),
        ("test1", False),
        ("sub/app.log", True),  # patterns are anchored at the start of the path
    ],
)
def test_parser_port_matches_core_tools(path, accepted):
    assert FuncIgnore(CORE_TOOLS_SAMPLE).accepts(path) is accepted


def test_core_tools_always_skips_its_own_files_and_the_git_folder():
    everything = FuncIgnore("")
    assert published(["a.py", ".git/config", "x/.vscode/settings.json", "local.settings.json"], everything) == ["a.py"]
