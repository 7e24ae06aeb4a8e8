"""Which files ``func azure functionapp publish`` packages, given ``.funcignore``.

Core Tools (``src/Cli/func/Common/GitIgnoreParser.cs``, a port of codemix/gitignore-parser) turns the ignore
lines and the ``!`` lines into two alternations anchored at the start of the path and ending at a word boundary;
a file is published when a ``!`` pattern matches it or no ignore pattern does. ``FileSystemHelpers.GetLocalFiles``
applies it to every file's path relative to the app root (``/`` separators), after skipping the ``.git`` and
``.vscode`` folders and the files ``.funcignore``, ``.gitignore``, ``local.settings.json``, ``project.lock.json``.
This module mirrors those rules (the regexes are ECMAScript ones, hence ``re.ASCII``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

SKIPPED_FOLDERS = {".git", ".vscode"}
SKIPPED_FILES = {".funcignore", ".gitignore", "local.settings.json", "project.lock.json"}
_SPECIAL = re.compile(r"[\-\[\]/{}()+?.\\^$|]")


def _pattern(line: str) -> str:
    escaped = _SPECIAL.sub(lambda m: "\\" + m.group(0), line)
    return escaped.replace("**", "(.+)").replace("*", "([^\\/]+)")


def _alternation(lines: list[str]) -> re.Pattern[str]:
    if not lines:
        return re.compile("$^")
    return re.compile("^((" + ")|(".join(_pattern(line) for line in sorted(lines)) + "))\\b", re.ASCII)


class FuncIgnore:
    """The ignore rules of one ``.funcignore`` text."""

    def __init__(self, text: str) -> None:
        positive: list[str] = []
        negative: list[str] = []
        for raw in text.split("\n"):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            target = negative if line.startswith("!") else positive
            line = line[1:] if line.startswith("!") else line
            target.append(line[1:] if line.startswith("/") else line)
        self._positive = _alternation(positive)
        self._negative = _alternation(negative)

    def accepts(self, path: str) -> bool:
        return bool(self._negative.search(path)) or not self._positive.search(path)


def published(paths: Iterable[str], funcignore: FuncIgnore) -> list[str]:
    """The subset of ``paths`` (relative, ``/``-separated files) that Core Tools puts in the package."""
    kept = []
    for path in paths:
        parts = path.split("/")
        if SKIPPED_FOLDERS.intersection(p.lower() for p in parts[:-1]) or parts[-1].lower() in SKIPPED_FILES:
            continue
        if funcignore.accepts(path):
            kept.append(path)
    return sorted(kept)
