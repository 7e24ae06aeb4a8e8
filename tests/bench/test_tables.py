"""Rendering of benchmark tables and the results document (pure parts)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import results
from bench.report import duration, ratio
from bench.tables import Table, cell_text


def test_cells_render_numbers_readably() -> None:
    assert [cell_text(v) for v in (None, 1234, 0.18, 8.0, 1500.4, "x")] == ["—", "1,234", "0.18", "8", "1,500", "x"]


def test_a_row_must_fill_every_column() -> None:
    table = Table("t", "T", ["a", "b"])
    with pytest.raises(ValueError, match=r"^t: 1 cells for 2 columns$"):
        table.add(1)


def test_markdown_has_header_alignment_rows_and_notes() -> None:
    table = Table("t", "Title", ["Case", "Reads"], notes=["a note"])
    table.add("10 min", 4)
    assert table.markdown().splitlines() == [
        "**Title**",
        "",
        "| Case | Reads |",
        "|---|---:|",
        "| 10 min | 4 |",
        "",
        "a note",
    ]


def test_durations_and_ratios() -> None:
    assert [duration(s) for s in (600, 3600, 21600, 90)] == ["10 min", "1 h", "6 h", "90 s"]
    assert ratio(4, 22) == 0.182
    assert ratio(1, 0) is None


def test_writing_merges_sections_and_keeps_a_markdown_twin(tmp_path: Path) -> None:
    path = tmp_path / "latest.json"
    first = Table("a", "A", ["x"])
    first.add(1)
    results.write(path, {"one": results.section("python -m bench one", [first], {"v": 1}, seconds=1.0)})
    results.write(path, {"two": results.section("python -m bench two", [first], {"v": 2}, seconds=2.0)})
    document = json.loads(path.read_text())
    assert list(document["sections"]) == ["one", "two"]
    assert document["sections"]["one"]["machine"]["cores"] >= 1
    assert document["sections"]["two"]["tables"][0]["rows"] == [[1]]
    markdown = path.with_suffix(".md").read_text()
    assert "`python -m bench one`" in markdown
    assert "`python -m bench two`" in markdown
