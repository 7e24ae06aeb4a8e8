"""Architecture rules that keep the layout honest."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_domain_package_has_no_azure_or_io_imports() -> None:
    """The domain (`migration/`) is pure: no Azure SDK, no HTTP, no host; activities do the I/O."""
    forbidden = ("azure", "aiohttp", "requests", "emulator", "devhost", "activities", "orchestrators")
    offenders = {
        f"{p.relative_to(ROOT)}: {m}"
        for p in (ROOT / "migration").rglob("*.py")
        for m in imported_modules(p)
        if m.split(".")[0] in forbidden
    }
    assert not offenders, offenders


def test_checker_sees_imports() -> None:
    """The rule above would catch an offending import (guards against a checker that sees nothing)."""
    sample = ROOT / "tests" / "test_architecture.py"
    assert "ast" in imported_modules(sample)
