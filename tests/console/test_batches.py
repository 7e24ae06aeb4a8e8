"""Plans and batches in the console: the plan preview predicts per image, the batch started from it runs, its
counts match its report, and the report downloads as JSON and CSV. Values from the API render as text."""

from __future__ import annotations

import csv
import io
import json

import pytest
from playwright.sync_api import expect

from tests.console.conftest import ConsolePage
from tests.e2e.world import GALLERY, RG, SUB, World, gallery, image, image_id

pytestmark = pytest.mark.e2e

SCOPE = f"/subscriptions/{SUB}/resourceGroups/{RG}"
HOSTILE = "<img src=x onerror=window.__pwned=1>"


def test_plan_then_batch_whose_counts_match_its_report(console: ConsolePage, world: World) -> None:
    world.replication_takes(600)
    world.seed(
        gallery(),
        image("web-01"),
        image("web-02"),
        image("web-03", tags={"migration-status": "succeeded"}),  # already migrated: skipped
        image("big-01", data_disks=((0, 2048),)),  # too large a data disk: predicted to fail
    )
    page = console.open("#/plan")
    page.get_by_label("Resource group IDs (one per line)").fill(SCOPE)
    page.get_by_label("Gallery resource ID").fill(GALLERY)
    page.get_by_label("Source image").select_option("never")
    page.get_by_label("At most at once (batch)").fill("2")
    page.get_by_role("button", name="Preview the plan").click()
    table = page.locator("#plan-images")
    expect(table.locator("tbody tr")).to_have_count(4, timeout=20_000)
    counts = page.locator("#plan-counts")
    for key, value in {"images": 4, "succeeded": 2, "failed": 1, "skipped": 1}.items():
        expect(counts.locator(f'dd[data-key="{key}"]')).to_have_text(str(value))
    expect(table.locator('tr[data-outcome="skipped"]')).to_contain_text("already migrated")
    expect(table.locator('tr[data-outcome="failed"]')).to_contain_text("big-01")

    page.get_by_role("button", name="Start this batch…").click()
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_contain_text("every source image is kept")
    with page.expect_request(lambda r: r.method == "POST" and r.url.endswith("/api/batches")) as sent:
        dialog.get_by_role("button", name="Start the batch").click()
    body = json.loads(sent.value.post_data or "{}")
    assert body["scope"] == {"resourceGroups": [SCOPE]}
    assert body["maxConcurrency"] == 2
    assert body["deletionMode"] == "never"
    assert body["galleryId"] == GALLERY
    expect(page.locator("main h2")).to_contain_text("Batch batch-", timeout=10_000)
    batch_id = page.url.rsplit("/", 1)[-1]

    expect(page.locator("#batch-status")).to_have_text("completed", timeout=60_000)
    report = world.api("GET", f"batches/{batch_id}/report").json()
    for key, value in report["counts"].items():
        expect(page.locator(f'#batch-counts dd[data-key="{key}"]')).to_have_text(str(value))
    assert report["counts"]["succeeded"] == 2
    assert report["counts"]["total"] == 4
    expect(page.locator("#batch-progress")).to_have_attribute("value", "100")

    with page.expect_download() as json_download:
        page.get_by_role("button", name="Download report (JSON)").click()
    assert json.loads(json_download.value.path().read_text(encoding="utf-8")) == report
    with page.expect_download() as csv_download:
        page.get_by_role("button", name="Download report (CSV)").click()
    assert csv_download.value.suggested_filename == f"{batch_id}.csv"
    rows = list(csv.DictReader(io.StringIO(csv_download.value.path().read_text(encoding="utf-8"))))
    assert sorted(r["name"] for r in rows) == ["big-01", "web-01", "web-02", "web-03"]

    page.get_by_role("link", name="← All batches").click()
    expect(page.locator(f'#batches tr[data-id="{batch_id}"]')).to_contain_text("completed")


def test_html_in_a_tag_value_and_in_problem_details_renders_as_text(console: ConsolePage, world: World) -> None:
    console.allowed_statuses.add(400)
    world.seed(gallery(), image("web-01", tags={"owner": HOSTILE}))
    page = console.open("#/plan")
    page.get_by_label("Resource group IDs (one per line)").fill(SCOPE)
    page.get_by_label("Gallery resource ID").fill(GALLERY)
    page.get_by_label("Tags present").fill(f"owner={HOSTILE}")
    page.get_by_role("button", name="Preview the plan").click()
    expect(page.locator("#plan-images tbody tr")).to_have_count(1, timeout=20_000)  # the tag matched
    expect(page.locator("#plan-for")).to_contain_text(f"owner={HOSTILE}")

    page.get_by_label("Target regions").fill(f"{HOSTILE}=1")
    page.get_by_role("button", name="Preview the plan").click()
    expect(page.locator("#plan-result .problem")).to_contain_text("400 Invalid Request")
    expect(page.locator("#plan-result .problem")).to_contain_text("targetRegions[0]")

    assert page.evaluate("window.__pwned") is None
    assert page.locator("main img").count() == 0  # the markup stayed text
    assert world.exists(image_id("web-01"))


def test_a_batch_shows_what_waits_for_arm_budget(console: ConsolePage, world: World) -> None:
    """The shared ARM budget short: the batch's page says its listing waits, then how many of its migrations do."""
    world.seed(gallery(), image("web-01"), image("web-02"), image("web-03"))
    host = world.stack.host
    host.clock(auto_advance=False)
    world.book_the_budget(SUB)
    started = world.api(
        "POST", "batches", json={"scope": {"resourceGroups": [SCOPE]}, "galleryId": GALLERY, "maxConcurrency": 2}
    )
    assert started.status_code == 202, started.text
    batch_id = started.json()["id"]
    page = console.open(f"#/batches/{batch_id}")
    expect(page.locator("#batch-message")).to_contain_text("waiting for ARM budget until", timeout=20_000)

    world.book_again_after_listing(SUB)
    expect(page.locator("#waiting-for-budget")).to_have_text("2 of the running", timeout=20_000)
    expect(page.locator("#batch-message")).to_have_count(0)
    expect(page.locator("ul.running .waiting")).to_have_count(2)


def test_a_plan_preview_says_it_waits_for_arm_budget(console: ConsolePage, world: World) -> None:
    world.seed(gallery(), image("web-01"))
    world.stack.host.clock(auto_advance=False)
    world.book_the_budget(SUB)
    page = console.open("#/plan")
    page.get_by_label("Resource group IDs (one per line)").fill(SCOPE)
    page.get_by_label("Gallery resource ID").fill(GALLERY)
    page.get_by_role("button", name="Preview the plan").click()
    progress = page.locator("#plan-progress")
    expect(progress).to_contain_text("Planning… (listing) · waiting for ARM budget until ", timeout=20_000)
