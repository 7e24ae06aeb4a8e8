"""A batch of 1,050 images through the devhost's real replay, with migrations that end at once (the batch-engine
benchmark's app, ``bench/batch_engine_app.py``): every image started once, the report paged across the
1,000-item block boundary in JSON and CSV, the batch's history short in every round."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

import pytest

from bench.batch_engine import GROUP, engine_stack, seed_images
from localrun.stack import LocalStack
from migration.batch import CSV_COLUMNS, item_instance_id
from tests.e2e.world import GALLERY, SUB, World
from tests.orchestrators.batch_driver import history_bound

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
IMAGES = 1050


@pytest.fixture(scope="module")
def batch() -> Iterator[tuple[LocalStack, str]]:
    names = [f"fleet-{n:05d}" for n in range(IMAGES)]
    with engine_stack() as stack:
        seed_images(stack, names)
        scope = {"resourceGroups": [f"/subscriptions/{SUB}/resourceGroups/{GROUP}"]}
        response = stack.host.call("POST", "batches", json={"scope": scope, "galleryId": GALLERY, "maxConcurrency": 50})
        assert response.status_code == 202, response.text
        batch_id = str(response.json()["id"])
        status = World(stack).finish(batch_id, timeout=240)
        assert status["runtimeStatus"] == "Completed", status
        yield stack, batch_id


def _pages(stack: LocalStack, batch_id: str, **params: Any) -> list[Any]:
    pages, query = [], dict(params)
    while True:
        response = stack.host.call("GET", f"batches/{batch_id}/report", params=query)
        assert response.status_code == 200, response.text
        pages.append(response)
        following = response.json().get("continuationToken") if params.get("format") != "csv" else None
        link = response.headers.get("Link")
        if params.get("format") == "csv":
            if not link:
                return pages
            following = link.split("continuationToken=", 1)[1].split(">", 1)[0]
        if following is None:
            return pages
        query = {**params, "continuationToken": following}


def test_every_image_is_started_once_and_reported_once(batch: tuple[LocalStack, str]) -> None:
    stack, batch_id = batch
    pages = [p.json() for p in _pages(stack, batch_id, top=1000)]
    assert [p["count"] for p in pages] == [1000, 50]
    rows = [row for page in pages for row in page["images"]]
    assert [row["name"] for row in rows] == [f"fleet-{n:05d}" for n in range(IMAGES)]
    assert {row["outcome"] for row in rows} == {"succeeded"}
    assert pages[-1]["counts"]["succeeded"] == IMAGES
    assert len({row["instanceId"] for row in rows}) == IMAGES
    items = stack.host.list_instances(instanceIdPrefix=item_instance_id(batch_id, 0)[:-5], page_size=1000)
    assert len(items) == IMAGES  # one item each, never started twice
    migrations = stack.host.list_instances(instanceIdPrefix="mig-", page_size=1000)
    assert len(migrations) == IMAGES


def test_the_csv_pages_concatenate_into_one_table(batch: tuple[LocalStack, str]) -> None:
    stack, batch_id = batch
    pages = _pages(stack, batch_id, format="csv", top=400)
    assert len(pages) == 3
    assert all(p.headers["Content-Type"].startswith("text/csv") for p in pages)
    table = list(csv.reader(io.StringIO("".join(p.text for p in pages))))
    assert tuple(table[0]) == CSV_COLUMNS
    assert len(table) == IMAGES + 1
    assert table[-1][CSV_COLUMNS.index("name")] == f"fleet-{IMAGES - 1:05d}"


def test_the_batch_history_stays_short_in_every_round(batch: tuple[LocalStack, str]) -> None:
    stack, batch_id = batch
    root = stack.host.stats(batch_id)["instances"][batch_id]
    assert root["historyEventsPeak"] <= history_bound(40, 50), root  # BATCH_ROUND_TASKS's default, the cap
    assert root["historyEventsTotal"] > 5 * root["historyEventsPeak"]  # most of it was cut by continue_as_new
    output = (stack.host.status(batch_id, show_input=False) or {})["output"]
    assert output["rounds"] > 10
