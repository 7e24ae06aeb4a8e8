"""`make mutate`'s score per module, from mutmut's results (``mutants/**/*.py.meta``).

A mutant is killed when a fast test failed (or timed out) with it in place; it survives when every test passed.
Survivors that cannot change behaviour (equivalent mutants) are listed with the reason in
``tests/mutation_equivalents.txt`` (``<mutant name>  # why``) and left out of the score:
score = killed / (mutants - equivalent). The goal (docs/reliability.md) is at least 90 % per module.

    python -m tests.mutation_report            # the table, then each survivor that is not declared equivalent
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MUTANTS = ROOT / "mutants"
EQUIVALENTS = Path(__file__).with_name("mutation_equivalents.txt")
KILLED = {1, 3, 24, -24, 36, 152, 255}  # a failing test, pytest's internal error, or a timeout
SURVIVED = 0
GOAL = 0.90


def equivalents() -> dict[str, str]:
    found: dict[str, str] = {}
    for line in EQUIVALENTS.read_text(encoding="utf-8").splitlines():
        name, _, why = line.partition("#")
        if name.strip():
            found[name.strip()] = why.strip()
    return found


def results() -> dict[str, dict[str, int | None]]:
    """Exit code per mutant, per mutated module (``migration/deletion.py``)."""
    by_module: dict[str, dict[str, int | None]] = {}
    for meta in sorted(MUTANTS.rglob("*.py.meta")):
        module = str(meta.relative_to(MUTANTS)).removesuffix(".meta")
        by_module[module] = json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"]
    return by_module


def main() -> int:
    if not MUTANTS.is_dir():
        print("no mutants/ directory: run `make mutate` first", file=sys.stderr)
        return 2
    declared = equivalents()
    rows, survivors, below = [], [], []
    for module, codes in results().items():
        kinds = Counter(
            "killed" if code in KILLED else "equivalent" if name in declared else "survived" if code == 0 else "other"
            for name, code in codes.items()
        )
        scored = len(codes) - kinds["equivalent"]
        score = kinds["killed"] / scored if scored else 1.0
        below += [module] if score < GOAL else []
        rows.append(
            f"| `{module}` | {len(codes)} | {kinds['killed']} | {kinds['equivalent']} | {kinds['survived']} "
            f"| {kinds['other']} | {score:.0%} |"
        )
        survivors += [name for name, code in codes.items() if code == SURVIVED and name not in declared]
    print("| module | mutants | killed | equivalent | survived | not run | score |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    print("\n".join(rows))
    if survivors:
        print(f"\n{len(survivors)} survivors (`mutmut show <name>`):\n" + "\n".join(survivors))
    if below:
        print(f"\nbelow the {GOAL:.0%} goal: {', '.join(below)}")
    return 1 if below else 0


if __name__ == "__main__":
    raise SystemExit(main())
