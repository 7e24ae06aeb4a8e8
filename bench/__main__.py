"""``python -m bench [polling|history|scale|replay|curves|batch|all] [--quick]``: run benchmarks, print tables, save
JSON.

polling, history and replay measure the same migrations (one per replication time), so asking for several of
them runs those migrations once; curves measures our wait on progress curves the predictor does not assume, beside
the linear migrations (which it runs too). ``batch`` is the batch engine at 100 / 1,000 / 10,000 images (stand-in
migrations; the replaced design from git at 100 and 1,000) and a batch of real migrations
(``--batch-migrations``, default 1,000). Every run starts its own emulator + devhost on the virtual clock.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console

from bench import batch, batch_engine, polling, report, results, scale
from bench.baseline import BASELINE_CASES
from bench.tables import Table

BENCHMARKS = ("polling", "history", "replay", "curves", "scale", "batch")
BATCH_MIGRATIONS = 1000


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    p.add_argument("benchmark", nargs="?", default="all", choices=[*BENCHMARKS, "all"])
    p.add_argument(
        "--quick",
        action="store_true",
        help=f"smoke run: replication {polling.QUICK_REPLICATION_SECONDS[0]} s only, "
        f"{scale.QUICK_MIGRATIONS} migrations for scale (saved to {results.QUICK.name})",
    )
    p.add_argument("--migrations", type=_positive, help="migrations for the scale benchmark (default 200, quick 20)")
    p.add_argument(
        "--scenario",
        action="append",
        choices=[s.name for s in scale.SCENARIOS],
        help="scale scenario(s) to run (repeatable; default: all)",
    )
    p.add_argument(
        "--batch-migrations",
        type=_positive,
        help=f"real migrations of the batch benchmark (default {BATCH_MIGRATIONS}, quick {scale.QUICK_MIGRATIONS})",
    )
    p.add_argument("--output", type=Path, help=f"results JSON (default bench/results/{results.LATEST.name})")
    p.add_argument("--no-save", action="store_true", help="print the tables only")
    p.add_argument("--verbose", action="store_true", help="log progress")
    return p.parse_args(argv)


def run(args: argparse.Namespace, *, command: str, console: Console) -> dict[str, dict[str, Any]]:
    chosen = BENCHMARKS if args.benchmark == "all" else (args.benchmark,)
    sections: dict[str, dict[str, Any]] = {}

    def emit(name: str, tables: list[Table], data: Any, seconds: float) -> None:
        for table in tables:
            console.print(table.rich())
            console.print()
        sections[name] = results.section(command, tables, data, seconds=seconds)

    case_based = [name for name in chosen if name not in ("scale", "curves", "batch")]
    if case_based or "curves" in chosen:
        times = polling.QUICK_REPLICATION_SECONDS if args.quick else polling.REPLICATION_SECONDS
        started = time.perf_counter()
        with_baselines = "polling" in case_based or "curves" in chosen
        cases = polling.run_cases(times, baselines=BASELINE_CASES if with_baselines else ())
        seconds = time.perf_counter() - started
        data = [case.to_json() for case in cases]
        builders = {"polling": report.polling_tables, "history": report.history_tables, "replay": report.replay_tables}
        for name in case_based:
            emit(name, builders[name](cases), data, seconds)
        if "curves" in chosen:
            started = time.perf_counter()
            curves = polling.run_curve_cases(polling.QUICK_CURVE_CASES if args.quick else polling.CURVE_CASES)
            curve_data = [case.to_json() for case in curves]
            emit("curves", report.curve_tables(curves, cases), curve_data, time.perf_counter() - started + seconds)
    if "scale" in chosen:
        migrations = args.migrations or (scale.QUICK_MIGRATIONS if args.quick else scale.MIGRATIONS)
        started = time.perf_counter()
        wanted = args.scenario or [s.name for s in scale.SCENARIOS]
        outcomes = scale.run(migrations, scenarios=[s for s in scale.SCENARIOS if s.name in wanted])
        emit("scale", report.scale_tables(outcomes), [o.to_json() for o in outcomes], time.perf_counter() - started)
    if "batch" in chosen:
        started = time.perf_counter()
        sizes, before = ((100,), ()) if args.quick else (batch_engine.SIZES, batch_engine.BEFORE_SIZES)
        runs, before_missing = batch_engine.run(sizes, before)
        tables = batch_engine.tables(runs, before_missing=before_missing)
        emit("batch-engine", tables, [r.to_json() for r in runs], time.perf_counter() - started)
        started = time.perf_counter()
        count = args.batch_migrations or (scale.QUICK_MIGRATIONS if args.quick else BATCH_MIGRATIONS)
        result = scale.run_scenario(batch.scenario(), count)
        tables = [*report.scale_tables([result]), batch.concurrency_table(batch.CAP), batch.time_table(result)]
        emit("batch", tables, result.to_json(), time.perf_counter() - started)
    return sections


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    level = logging.INFO if args.verbose else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("azure", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    command = "python -m bench " + " ".join(sys.argv[1:] if argv is None else argv)
    console = Console()
    console.width = max(console.width, 150)  # the tables are wide; piped output would otherwise fold them
    started = time.perf_counter()
    sections = run(args, command=command.strip(), console=console)
    if not args.no_save:
        path = args.output or (results.QUICK if args.quick else results.LATEST)
        results.write(path, sections)
        console.print(f"saved {', '.join(sections)} to {path} (and {path.with_suffix('.md').name})")
    console.print(f"benchmarks took {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
