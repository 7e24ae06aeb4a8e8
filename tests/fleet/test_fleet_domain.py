"""Pure fleet rules: scopes, filters, request bodies, skip rules, forecasts, the batch ledger, the ARM budget."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from migration.batch import CSV_COLUMNS, BatchLedger, QueuedImage, report_csv
from migration.errors import InvalidRequest
from migration.fleet import ImageFilters, ImageItem, Scope, classify, is_fleet_id, new_fleet_id, parse_fleet_body
from migration.forecast import forecast_image
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


# --- the ledger -----------------------------------------------------------------------------------------------
def _queued(n: int) -> QueuedImage:
    return QueuedImage(
        source_image_id=f"{GROUP}/providers/Microsoft.Compute/images/i{n}",
        name=f"i{n}",
        instance_id=f"mig-i{n}",
        request={},
    )


def test_ledger_never_takes_more_than_the_cap() -> None:
    ledger = BatchLedger("batch-x", max_concurrency=2)
    for n in range(5):
        ledger.enqueue(_queued(n))
    first = ledger.take()
    assert [q.name for q in first] == ["i0", "i1"]
    for q in first:
        ledger.started(q, "t0")
    assert ledger.take() == []
    ledger.finished("mig-i0", {"outcome": "succeeded", "phase": "done", "sourceDeleted": True}, "t1")
    assert [q.name for q in ledger.take()] == ["i2"]
    assert ledger.counts()["succeeded"] == 1


def test_ledger_cancel_marks_the_queue_not_started_and_returns_the_running() -> None:
    ledger = BatchLedger("batch-x", max_concurrency=1)
    for n in range(3):
        ledger.enqueue(_queued(n))
    (running,) = ledger.take()
    ledger.started(running, "t0")
    assert ledger.cancel() == ["mig-i0"]
    ledger.crashed("mig-i0", "An Orchestration instance with the status Running already exists.", "t1")
    counts = ledger.counts()
    assert (counts["notStarted"], counts["skipped"], counts["queued"], counts["running"]) == (2, 1, 0, 0)
    assert not ledger.busy
    assert ledger.status()["state"] == "canceling"


def test_report_csv_has_a_header_and_defuses_formulas() -> None:
    rows: list[dict[str, Any]] = [
        {"sourceImageId": "/x/a", "name": "a", "outcome": "failed", "error": {"code": "X", "message": "=cmd()"}},
        {"sourceImageId": "/x/b", "name": "b", "outcome": "succeeded", "sourceDeleted": True},
    ]
    table = list(csv.reader(io.StringIO(report_csv(rows))))
    assert tuple(table[0]) == CSV_COLUMNS
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
