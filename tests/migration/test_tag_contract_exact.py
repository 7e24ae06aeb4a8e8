"""The tag contract to the letter: the request hash is pinned (a changed hash would make every image the app has
migrated look unhandled after an upgrade, and start it again), each decision carries its hash and trigger, every
option parses to the documented value, and what the app writes is cut exactly at ARM's 256-character limit."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from migration.errors import InvalidRequest
from migration.request import MigrationRequestBody
from migration.resource_ids import GalleryId, ImageId
from migration.tags import (
    TAG_VALUE_MAX,
    MigrationStatus,
    TagDecision,
    TagNames,
    _tag_errors,
    body_from_tags,
    decide,
    fit_status_tags,
    parse_trigger_value,
    request_hash,
    status_tag_room_note,
    status_tags,
)
from tests.migration.factories import IMAGE_ID, SUB, settings

NAMES = TagNames.from_settings(settings())
GALLERY = f"/subscriptions/{SUB}/resourceGroups/rg-g/providers/Microsoft.Compute/galleries/corp"
TAGS = {"migrate-to-gallery": "corp", "Migrate-Regions": "eastus=1", "team": "x"}


def test_the_request_hash_is_pinned() -> None:
    assert request_hash(TAGS, NAMES) == "cc3c10362839129b"
    assert request_hash({}, NAMES) == "71e88052ed6fa1e9"
    # names in any case, unrelated tags and the app's own tags change nothing
    same = {"MIGRATE-TO-GALLERY": "corp", "migrate-regions": "eastus=1", "migration-status": "running"}
    assert request_hash(same, NAMES) == "cc3c10362839129b"
    assert request_hash({**TAGS, "migrate-regions": "eastus=2"}, NAMES) != "cc3c10362839129b"  # values count


def test_each_decision_carries_its_reason_hash_and_trigger() -> None:
    assert decide({"team": "x"}, NAMES) == TagDecision(False, "no 'migrate-to-gallery' tag")
    assert decide({"migrate-to-gallery": "false"}, NAMES) == TagDecision(False, "no 'migrate-to-gallery' tag")
    digest = request_hash(TAGS, NAMES)
    assert decide(TAGS, NAMES) == TagDecision(True, "trigger tag present", digest, "corp")
    handled = {**TAGS, "migration-status": "succeeded", "migration-request": digest}
    assert decide(handled, NAMES) == TagDecision(False, "already handled (migration-status=succeeded)", digest, "corp")
    # a hash without a status (or a status without the hash) is not "handled"
    assert decide({**TAGS, "migration-request": digest}, NAMES).start is True
    assert decide({**TAGS, "migration-status": "failed"}, NAMES).start is True


def body(**tags: str) -> MigrationRequestBody:
    return body_from_tags(
        ImageId.parse(IMAGE_ID),
        {"migrate-to-gallery": "corp", **tags},
        NAMES,
        gallery=GalleryId.parse(GALLERY),
        settings=settings(),
    )


@pytest.mark.parametrize(("value", "parsed"), [("true", True), ("TRUE", True), (" False ", False), ("false", False)])
def test_exclude_from_latest_parses_both_ways(value: str, parsed: bool) -> None:
    assert body(**{"migrate-exclude-from-latest": value}).exclude_from_latest is parsed


@pytest.mark.parametrize(
    ("tag", "value", "message"),
    [
        ("migrate-exclude-from-latest", "maybe", "must be true or false, got 'maybe'"),
        ("migrate-exclude-from-latest", "x" * 40, f"must be true or false, got '{'x' * 32}'"),
        ("migrate-delete-source", "yes", "must be after-validation, never or after-approval, got 'yes'"),
    ],
)
def test_bad_option_values_are_named_exactly(tag: str, value: str, message: str) -> None:
    with pytest.raises(InvalidRequest) as refused:
        body(**{tag: value})
    assert refused.value.errors == [{"field": tag, "message": message}]


def test_errors_of_nested_fields_name_the_tag_they_came_from() -> None:
    with pytest.raises(InvalidRequest) as refused:
        body(**{"migrate-definition": "has spaces"})
    assert [e["field"] for e in refused.value.errors] == ["migrate-definition"]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("true", "the tag says 'true' but DEFAULT_GALLERY_ID is not set"),
        (
            "-bad-" + "x" * 100,
            f"'{('-bad-' + 'x' * 100)[:80]}' is neither a gallery resource ID, a gallery name nor 'true'",
        ),
    ],
)
def test_bad_trigger_values_are_named_exactly(value: str, message: str) -> None:
    with pytest.raises(InvalidRequest) as refused:
        parse_trigger_value(value, settings())
    assert refused.value.message == message


def test_status_tags_are_cut_exactly_at_the_tag_limit() -> None:
    long_id = "/" + "v" * 300
    exact, over = "r" * TAG_VALUE_MAX, "r" * (TAG_VALUE_MAX + 1)
    tags = status_tags(
        NAMES, MigrationStatus.FAILED, migration_id="mig-1", request_hash="h", version_id=long_id, reason=exact
    )
    assert tags == {
        "migration-status": "failed",
        "migration-id": "mig-1",
        "migration-request": "h",
        "migration-version-id": long_id[:TAG_VALUE_MAX],
        "migration-reason": exact,
    }
    cut = status_tags(NAMES, MigrationStatus.FAILED, migration_id="m", request_hash="h", reason=over)[
        "migration-reason"
    ]
    assert cut == "r" * (TAG_VALUE_MAX - 3) + "..."
    assert len(cut) == TAG_VALUE_MAX
    bare = status_tags(NAMES, MigrationStatus.RUNNING, migration_id="m", request_hash="h")
    assert set(bare) == {"migration-status", "migration-id", "migration-request"}


def test_end_of_life_dates_are_midnight_utc() -> None:
    assert body(**{"migrate-end-of-life": "2099-12-31"}).end_of_life == datetime(2099, 12, 31, tzinfo=UTC)


def test_every_tag_name_follows_the_renamed_settings() -> None:
    names = TagNames.from_settings(settings(tag_trigger="to-gallery", tag_option_prefix="o-", tag_status_prefix="s-"))
    assert names == TagNames(
        trigger="to-gallery",
        definition="o-definition",
        version="o-version",
        regions="o-regions",
        storage_type="o-storage-type",
        end_of_life="o-end-of-life",
        delete_source="o-delete-source",
        exclude_from_latest="o-exclude-from-latest",
        status="s-status",
        migration_id="s-id",
        request="s-request",
        version_id="s-version-id",
        reason="s-reason",
        cancel="s-cancel",
    )


def test_errors_of_fields_no_tag_sets_keep_their_field() -> None:
    errors = [{"field": "sourceImageId", "message": "m"}, {"field": "version", "message": "v"}]
    assert _tag_errors(errors, NAMES) == [
        {"field": "sourceImageId", "message": "m"},
        {"field": "migrate-version", "message": "v"},
    ]


def test_a_status_tag_already_on_the_image_takes_no_room() -> None:
    """A merge replaces a tag that exists, so only the new ones count against the limit (names compare without
    case, as ARM's do); what fits keeps its value."""
    current = {"Migration-Status": "running", "team": "x"}
    wanted = {"migration-status": "failed", "migration-request": "h", "migration-id": "m"}
    fitted, dropped = fit_status_tags(current, wanted, NAMES, limit=3)
    assert (fitted, dropped) == ({"migration-status": "failed", "migration-request": "h"}, ["migration-id"])


def test_the_tag_room_note_names_what_is_left_out_at_the_limit_given() -> None:
    tags = {f"t{n}": "" for n in range(3)}
    assert status_tag_room_note(tags, NAMES, limit=6) == (
        "the image has 3 of ARM's 6 tags, so the app does not write migration-reason, migration-version-id on it "
        "(free tags to see them; the migration's state is in the API either way)"
    )
    assert status_tag_room_note(tags, NAMES, limit=8) is None
