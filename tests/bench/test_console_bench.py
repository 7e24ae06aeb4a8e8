"""Smoke run of the console benchmark (3 migrations, short windows): real processes and a real browser;
checks that the figures are consistent, never how fast anything is."""

from __future__ import annotations

import pytest

from bench import console as bench_console
from localrun.stack import LocalStack
from tests.e2e.conftest import E2E_SETTINGS

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_console_benchmark_figures_are_consistent() -> None:
    with LocalStack(clock="virtual", seed=None, settings=E2E_SETTINGS, subscribe_events=False) as stack:
        bench_console.start_migrations(stack, 3)
        # 12 s windows: three fixed polls at the 4 s base; the idle window starts right after the busy window's last
        # clock tick, whose changes the page still sees once at the base interval before backing off (with 6 s
        # windows, 2 requests against the baseline's 1 whenever that tick showed something new).
        figures = bench_console.measure(stack, 3, 12.0)
    assert figures["hiddenPerMinute"] == 0
    assert 0 < figures["idlePerMinute"] <= figures["baselinePerMinute"]
    assert figures["busyPerMinute"] > 0
    assert figures["renders"] >= 2
    assert figures["firstRenderSeconds"] > 0
    render, requests = bench_console.tables(figures)
    assert str(requests.rows[0][0]).startswith("baseline")
    assert len(render.rows) == 6
