"""Pure fleet rules: scopes, filters, request bodies, skip rules, forecasts, the batch ledger, the ARM budget."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from migration.batch import (
    CSV_COLUMNS,
    BatchLedger,
    done_event,
    done_event_q,
    item_block_prefix,
    item_input,
    item_instance_id,
    report_csv,
    report_rows,
)
from migration.errors import InvalidRequest
from migration.fleet import (
    Candidate,
    ImageFilters,
    ImageItem,
    Scope,
    classify,
    is_fleet_id,
    new_fleet_id,
    parse_fleet_body,
)
from migration.forecast import forecast_image
from migration.inventory import build_inventory, inventory_instance_id, left_out, queued_entries
from migration.plan import MigrationPlan, build_plan
from migration.status import ErrorInfo
from tests.migration.factories import GALLERY_ID, IMAGE_ID, NOW, SUB, request, settings, source

GROUP = f"/subscriptions/{SUB}/resourceGroups/rg-images"
OTHER_SUB = "22222222-2222-4222-8222-222222222222"


def item(name: str = "web-01", **extra: object) -> ImageItem:
    data: dict[str, object] = {"id": f"{GROUP}/providers/Microsoft.Compute/images/{name}", "name": name}
    data.update(extra)
    return ImageItem.model_validate(data)


# --- scope and filters ----------------------------------------------------------------------------------------
def test_scope_lists_subscriptions_whole_and_only_groups_outside_them() -> None:
    scope = Scope.model_validate(
        {
            "subscriptions": [SUB.upper()],
            "resourceGroups": [GROUP, f"/subscriptions/{OTHER_SUB}/resourceGroups/rg-a", GROUP.upper() + "/"],
        }
    )
    assert scope.listings() == [(SUB, None), (OTHER_SUB, "rg-a")]


@pytest.mark.parametrize(
    ("scope", "message"),
    [
        ({}, "Value error, name at least one subscription or resource group"),
        ({"resourceGroups": [f"/subscriptions/{SUB}"]}, "is not a resource group ID"),
        ({"resourceGroups": ["/subscriptions/x/resourceGroups/rg"]}, "is not a resource group ID"),
        ({"subscriptions": ["not-a-guid"]}, "Value error, 'not-a-guid' is not a subscription ID (a GUID)"),
    ],
)
def test_scope_refuses_what_is_not_a_subscription_or_group(scope: dict, message: str) -> None:
    with pytest.raises(ValueError, match="validation error") as caught:
        Scope.model_validate(scope)
    assert message in str(caught.value)


def test_filters_glob_os_and_tags() -> None:
    filters = ImageFilters.model_validate(
        {"namePattern": "WEB-*", "osType": "Linux", "tagsPresent": ["team=web"], "tagsAbsent": ["keep"]}
    )
    assert filters.matches(item("web-01", os_type="Linux", tags={"Team": "web"}))
    assert not filters.matches(item("api-01", os_type="Linux", tags={"team": "web"}))  # name
    assert not filters.matches(item("web-02", os_type="Windows", tags={"team": "web"}))  # OS
    assert not filters.matches(item("web-03", os_type="Linux", tags={"team": "api"}))  # tag value
    assert not filters.matches(item("web-04", os_type="Linux", tags={"team": "web", "KEEP": ""}))  # tag absent
    assert ImageFilters().matches(item("anything"))


# --- bodies ---------------------------------------------------------------------------------------------------
def test_fleet_body_splits_into_the_fleet_part_and_a_migrations_options() -> None:
    body, options = parse_fleet_body(
        {"scope": {"subscriptions": [SUB]}, "maxConcurrency": 3, "galleryId": GALLERY_ID, "deletionMode": "never"},
        batch=True,
    )
    assert body.max_concurrency == 3
    assert options == {"galleryId": GALLERY_ID, "deletionMode": "never"}


def test_fleet_body_errors_name_every_field() -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_fleet_body(
            {"sourceImageId": IMAGE_ID, "maxConcurrency": 0, "deletionMode": "sometimes", "extra": 1}, batch=True
        )
    fields = {e["field"]: e["message"] for e in caught.value.errors}
    assert fields["sourceImageId"] == "a batch takes a scope, not one image"
    assert fields["maxConcurrency"] == "Input should be greater than or equal to 1"
    assert fields["deletionMode"] == "Input should be 'after-validation', 'never' or 'after-approval'"
    assert fields["extra"] == "unknown field"
    assert caught.value.message == "the batch request is invalid"


def test_a_plan_takes_one_valid_image_or_a_scope() -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_fleet_body({"sourceImageId": "/subscriptions/x"}, batch=False)
    assert caught.value.errors[0]["field"] == "sourceImageId"
    with pytest.raises(InvalidRequest) as both:
        parse_fleet_body({"sourceImageId": IMAGE_ID, "scope": {"subscriptions": [SUB]}}, batch=False)
    assert both.value.errors == [{"field": "scope", "message": "give either sourceImageId or scope"}]


def test_fleet_ids() -> None:
    plan_id = new_fleet_id("plan-")
    assert is_fleet_id(plan_id, "plan-")
    assert not is_fleet_id(plan_id, "batch-")
    assert not is_fleet_id("plan-../x", "plan-")


# --- classification -------------------------------------------------------------------------------------------
def test_classify_skips_migrated_and_running_images_and_refuses_invalid_requests() -> None:
    items = [
        item("fresh"),
        item("tagged", tags={"migration-status": "succeeded"}),
        item("built"),
        item("running"),
        item("approval", tags={"Migration-Status": "awaiting-approval"}),
        item("failed-before", tags={"migration-status": "failed"}),
    ]
    built = {items[2].id.lower(): ["v1"]}
    from migration.fleet import instance_id_of

    active = {instance_id_of(items[3]): "Running"}
    out = {
        c.item.name: c
        for c in classify(
            items,
            {"galleryId": GALLERY_ID},
            settings(),
            now=NOW,
            origin="batch",
            sources=built,
            active=active,
        )
    }
    assert out["fresh"].request is not None
    assert out["fresh"].request["origin"] == "batch"
    assert out["tagged"].skip_reason == "already migrated: tag migration-status=succeeded"
    assert out["built"].skip_reason == "already migrated: version v1 was built from it"
    assert out["running"].skip_reason == "being migrated: its migration instance is Running"
    assert out["approval"].skip_reason == (
        "being migrated: tag migration-status=awaiting-approval (remove the tag if no migration is in progress)"
    )
    assert out["failed-before"].request is not None  # a failed migration may be tried again

    refused = classify(
        [item("bad name")],  # not a managed image ID we accept: refused, never started
        {"galleryId": GALLERY_ID},
        settings(),
        now=NOW,
        origin="batch",
        sources={},
        active={},
    )[0]
    assert refused.error is not None
    assert refused.error.code == "InvalidRequest"


def test_a_single_image_plan_ignores_migration_tags_but_not_a_running_instance() -> None:
    tagged = item("tagged", tags={"migration-status": "succeeded"})
    (candidate,) = classify(
        [tagged],
        {"galleryId": GALLERY_ID},
        settings(),
        now=NOW,
        origin="plan",
        sources={},
        active={},
        skip_migrated=False,
    )
    assert candidate.request is not None


# --- forecasts ------------------------------------------------------------------------------------------------
def _plan(**body: Any) -> MigrationPlan:
    return build_plan(
        request(**body), source=source(), gallery_location="westus2", definition=None, versions=[], settings=settings()
    )


def test_forecast_of_a_migratable_image() -> None:
    row = forecast_image(_plan(), scale_sets=[])
    assert (row.outcome, row.source_deleted, row.version_name) == ("succeeded", True, "1.0.0")
    assert row.deletion is not None
    assert row.deletion.would_delete
    assert [c.name for c in row.deletion.checks] == [
        "mode-allows",
        "full-replication",
        "source-unchanged",
        "no-scale-set-uses-it",
    ]


def test_forecast_keeps_the_source_for_each_guard() -> None:
    shallow = forecast_image(_plan(replication_mode="Shallow"), scale_sets=["/vmss/a"])
    assert shallow.deletion is not None
    assert shallow.deletion.reason == (
        "full-replication: the version was replicated in Shallow mode and still reads from the source image; "
        "no-scale-set-uses-it: still referenced by scale set(s): /vmss/a"
    )
    never = forecast_image(_plan(deletion_mode="never"), scale_sets=[])
    assert never.deletion is not None
    assert never.deletion.reason == "mode-allows: deletion mode is 'never'"
    assert never.source_deleted is False


def test_forecast_of_a_failing_image_names_the_error() -> None:
    plan = build_plan(
        request(), source=source(), gallery_location=None, definition=None, versions=[], settings=settings()
    )
    row = forecast_image(plan, scale_sets=[])
    assert row.outcome == "failed"
    assert row.error == ErrorInfo(code="GalleryNotFound", message="gallery-exists: the target gallery does not exist")
    assert row.source_deleted is False


# --- the batch: inventory, ledger, report rows ------------------------------------------------------------------
def _candidates() -> list[Candidate]:
    """Four images in unsorted order: one skipped, one refused, two to migrate."""
    error = ErrorInfo(code="InvalidRequest", message="region nowhere is not allowed")
    return [
        Candidate(item=item("d-run"), instance_id="mig-d", request={}),
        Candidate(item=item("a-skip"), instance_id="mig-a", skip_reason="already migrated: tag"),
        Candidate(item=item("c-run"), instance_id="mig-c", request={}),
        Candidate(item=item("b-refused"), instance_id="mig-b", error=error),
    ]


def test_the_inventory_sorts_by_id_and_numbers_only_the_images_to_migrate() -> None:
    document = build_inventory(_candidates(), classified_at="t0")
    assert [e["name"] for e in document["entries"]] == ["a-skip", "b-refused", "c-run", "d-run"]
    assert [e.get("q") for e in document["entries"]] == [None, None, 0, 1]
    assert (document["images"], document["queued"], document["classifiedAt"]) == (4, 2, "t0")
    assert document["entries"][0]["skipReason"] == "already migrated: tag"
    assert document["entries"][1]["error"]["code"] == "InvalidRequest"
    assert [e["name"] for e in queued_entries(document, 1, 5)] == ["d-run"]
    assert left_out(document) == (1, 1)


def _ledger(queued: int, cap: int) -> BatchLedger:
    return BatchLedger(batch_id="batch-x", max_concurrency=cap, created_at="t0", images=queued, queued=queued)


def _entries(qs: range) -> list[dict[str, Any]]:
    images = f"{GROUP}/providers/Microsoft.Compute/images"
    return [{"id": f"{images}/i{q}", "name": f"i{q}", "q": q, "instanceId": f"mig-i{q}"} for q in qs]


def test_the_ledger_never_frees_more_than_the_cap_and_counts_each_item_once() -> None:
    ledger = _ledger(queued=5, cap=2)
    assert ledger.free == 2
    ledger.start(_entries(range(2)), "t0")
    assert (ledger.free, ledger.cursor) == (0, 2)
    assert ledger.ended(0, "succeeded", "done")
    assert not ledger.ended(0, "succeeded", "done")  # a duplicate report
    assert not ledger.ended(7, "failed", None)  # never started
    assert ledger.free == 1
    ledger.start(_entries(range(2, 5)[:1]), "t1")
    with pytest.raises(AssertionError):
        ledger.start(_entries(range(4, 5)), "t2")  # q must follow the cursor
    assert ledger.counts() == {"total": 5, "queued": 2, "running": 2, "succeeded": 1, "failed": 0,
                               "canceled": 0, "skipped": 0, "notStarted": 0}  # fmt: skip
    assert ledger.busy


def test_a_canceled_ledger_counts_the_queue_as_not_started_and_survives_the_round_trip() -> None:
    ledger = _ledger(queued=4, cap=1)
    ledger.start(_entries(range(1)), "t0")
    ledger.canceled, ledger.state = True, "canceling"
    ledger.ended(0, "bogus-outcome", None)
    again = BatchLedger.model_validate(ledger.model_dump(mode="json"))  # what continue_as_new carries
    assert again == ledger
    counts = again.counts()
    assert (counts["failed"], counts["notStarted"], counts["queued"], counts["running"]) == (1, 3, 0, 0)
    assert not again.busy
    assert again.status()["state"] == "canceling"


def test_report_rows_show_each_image_as_it_stands() -> None:
    document = build_inventory(_candidates(), classified_at="t0")
    entries = document["entries"]
    done = {"sourceImageId": entries[2]["id"], "name": "c-run", "outcome": "succeeded", "phase": "done"}
    items = {0: {"runtimeStatus": "Completed", "output": done}}
    running = report_rows(entries, {1: {"runtimeStatus": "Running", "customStatus": {"startedAt": "t1"}}}, started=2,
                          ended=None)  # fmt: skip
    assert [r["outcome"] for r in running] == ["skipped", "failed", "running", "running"]
    assert running[3]["startedAt"] == "t1"
    queued = report_rows(entries, items, started=1, ended=None)
    assert [r["outcome"] for r in queued] == ["skipped", "failed", "succeeded", "queued"]
    canceled = report_rows(entries, items, started=1, ended="canceled")
    assert canceled[3]["outcome"] == "not-started"
    assert canceled[3]["skipReason"] == "the batch was canceled before it started"
    gone = report_rows(entries, {1: {"runtimeStatus": "Terminated", "output": "by an operator"}}, started=2,
                       ended="completed")  # fmt: skip
    assert (gone[3]["outcome"], gone[3]["error"]["code"]) == ("failed", "OrchestrationTerminated")


def test_an_item_input_carries_the_request_and_the_batch_settings() -> None:
    entry = _entries(range(3, 4))[0]
    base = settings(REPLICATION_POLL_FIRST_SECONDS=10, REPLICATION_POLL_MIN_SECONDS=10)
    data = item_input("batch-x", entry, run_id="r1", options={"galleryId": GALLERY_ID}, settings=base,
                      classified_at=NOW)  # fmt: skip
    assert (data["q"], data["entry"]["instanceId"], data["child"]["runId"]) == (3, "mig-i3", "r1")
    assert data["child"]["request"]["source_image_id"] == entry["id"]
    # No per-batch poll floor: the migration asks the app-wide ARM budget (entities/arm_budget.py) itself.
    assert data["child"]["settings"] == data["settings"] == base.model_dump(mode="json")
    refused = item_input("batch-x", entry, run_id="r1", options={"galleryId": GALLERY_ID, "targetRegions": [
        {"name": "nowhere"}]}, settings=base, classified_at=NOW)  # fmt: skip
    assert refused["error"]["code"] == "InvalidRequest"
    assert "child" not in refused


def test_item_ids_share_a_prefix_per_block_of_a_thousand() -> None:
    assert item_instance_id("batch-" + "a" * 32, 1234) == "bitem-" + "a" * 32 + "-01234"
    assert item_instance_id("batch-" + "a" * 32, 1234).startswith(item_block_prefix("batch-" + "a" * 32, 1))
    assert inventory_instance_id("batch-" + "a" * 32) == "binv-" + "a" * 32
    assert inventory_instance_id("plan-" + "a" * 32) == "pinv-" + "a" * 32
    assert (done_event_q(done_event(17)), done_event_q("cancel"), done_event_q("image-x")) == (17, None, None)


def test_report_csv_has_a_header_and_defuses_formulas() -> None:
    rows: list[dict[str, Any]] = [
        {"sourceImageId": "/x/a", "name": "a", "outcome": "failed", "error": {"code": "X", "message": "=cmd()"}},
        {"sourceImageId": "/x/b", "name": "b", "outcome": "succeeded", "sourceDeleted": True},
    ]
    table = list(csv.reader(io.StringIO(report_csv(rows))))
    assert tuple(table[0]) == CSV_COLUMNS
    assert report_csv(rows, header=False) == report_csv(rows).split("\r\n", 1)[1]  # a later page: rows only
    first = dict(zip(CSV_COLUMNS, table[1], strict=True))
    assert (first["errorCode"], first["errorMessage"]) == ("X", "'=cmd()")
    assert dict(zip(CSV_COLUMNS, table[2], strict=True))["sourceDeleted"] == "true"


FORMULA_CELLS = ["=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1", "\n=1", " =1", "  \t @x", "\uff1dSUM(A1)",
                 "\uff0b1", "\uff0d1", "\uff20x", "\u3000=1", "\u00a0+1", "\t", "\rtext"]  # fmt: skip


def csv_cell(text: str) -> str:
    row = {"sourceImageId": "/x/a", "name": text, "outcome": "failed"}
    table = list(csv.reader(io.StringIO(report_csv([row]))))
    return dict(zip(CSV_COLUMNS, table[1], strict=True))["name"]


@pytest.mark.parametrize("text", FORMULA_CELLS)
def test_csv_defuses_formulas_after_blanks_and_in_full_width_forms(text: str) -> None:
    """OWASP CSV Injection: = + - @ (and their full-width forms), also after leading blanks, and cells that
    start with tab, CR or LF, get a leading apostrophe; the text is otherwise kept."""
    assert csv_cell(text) == "'" + text


@given(st.text(max_size=40))
def test_no_csv_cell_can_start_a_formula(text: str) -> None:
    cell = csv_cell(text)
    assert cell in (text, "'" + text)
    if cell == text:
        assert text[:1] not in ("\t", "\r", "\n")
        assert text.lstrip()[:1] not in "=+-@\uff1d\uff0b\uff0d\uff20" or not text.lstrip()
