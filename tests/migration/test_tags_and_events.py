import contextlib
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from migration.errors import InvalidRequest
from migration.events import WRITE_SUCCESS, image_from_event
from migration.instance_ids import is_migration_instance_id, migration_instance_id
from migration.resource_ids import GalleryId, ImageId
from migration.settings import DeletionMode
from migration.tags import (
    MigrationStatus,
    TagNames,
    body_from_tags,
    decide,
    fit_status_tags,
    invalid_tags_reason,
    parse_trigger_value,
    request_from_tags,
    status_tag_priority,
    status_tag_room_note,
    status_tags,
)
from tests.migration.factories import GALLERY_ID, IMAGE_ID, settings

NAMES = TagNames.from_settings(settings())


def test_trigger_absent_or_false_starts_nothing() -> None:
    assert not decide({}, NAMES).start
    assert not decide({"migrate-to-gallery": "false"}, NAMES).start
    assert decide({"Migrate-To-Gallery": "corpGallery"}, NAMES).start


def test_own_status_tags_make_the_same_request_a_no_op() -> None:
    user_tags = {"migrate-to-gallery": "corpGallery", "migrate-regions": "eastus=1"}
    first = decide(user_tags, NAMES)
    written = status_tags(NAMES, MigrationStatus.RUNNING, migration_id="m1", request_hash=first.request_hash)
    again = decide({**user_tags, **written}, NAMES)
    assert not again.start
    assert "already handled" in again.reason
    changed = decide({**user_tags, **written, "migrate-regions": "eastus=2"}, NAMES)
    assert changed.start
    cleared = {k: v for k, v in {**user_tags, **written}.items() if k != "migration-status"}
    assert decide(cleared, NAMES).start


def test_trigger_values() -> None:
    assert parse_trigger_value(GALLERY_ID, settings()).gallery_id == GalleryId.parse(GALLERY_ID)
    assert parse_trigger_value("corpGallery", settings()).name == "corpGallery"
    assert parse_trigger_value("TRUE", settings(DEFAULT_GALLERY_ID=GALLERY_ID)).gallery_id is not None
    with pytest.raises(InvalidRequest, match="DEFAULT_GALLERY_ID is not set"):
        parse_trigger_value("true", settings())
    with pytest.raises(InvalidRequest, match="neither a gallery resource ID"):
        parse_trigger_value("gallery with spaces", settings())


def test_body_from_tags() -> None:
    tags = {
        "migrate-to-gallery": "x",
        "migrate-definition": "ubuntu",
        "migrate-version": "1.2.3",
        "migrate-regions": "westus2=2;eastus=1",
        "migrate-storage-type": "standard_zrs",
        "migrate-end-of-life": "2030-12-31",
        "migrate-delete-source": "After-Approval",
        "migrate-exclude-from-latest": "true",
    }
    body = body_from_tags(
        ImageId.parse(IMAGE_ID), tags, NAMES, gallery=GalleryId.parse(GALLERY_ID), settings=settings()
    )
    assert body.definition.name == "ubuntu"
    assert body.version == "1.2.3"
    assert body.target_regions is not None
    assert len(body.target_regions) == 2
    assert body.end_of_life == datetime(2030, 12, 31, tzinfo=UTC)
    assert body.deletion_mode == DeletionMode.AFTER_APPROVAL
    assert body.exclude_from_latest is True


BAD_TAG_VALUES = [
    ("migrate-delete-source", "sometimes", "after-validation, never or after-approval"),
    ("migrate-delete-source", "approval", "after-validation, never or after-approval"),  # no undocumented aliases
    ("migrate-delete-source", "true", "after-validation, never or after-approval"),
    ("migrate-exclude-from-latest", "perhaps", "true or false"),
    ("migrate-exclude-from-latest", "yes", "true or false"),
    ("migrate-exclude-from-latest", "1", "true or false"),
    ("migrate-end-of-life", "next year", "a date like"),
    ("migrate-end-of-life", "2001-01-01", "in the future"),
    ("migrate-end-of-life", "\uff12\uff10\uff13\uff10-01-01", "a date like"),
    ("migrate-regions", "atlantis=1", "not a known Azure region"),
    ("migrate-regions", "eastus=1_0", "whole number"),
    ("migrate-regions", "eastus=1;eastus=2", "listed twice"),
    ("migrate-storage-type", "Floppy", "not a storage account type"),
    ("migrate-definition", "tag spaces", "image definition names"),
    ("migrate-definition", "-bad-", "image definition names"),
    ("migrate-definition", "a" * 81, "image definition names"),
    ("migrate-version", "1.0", "Major.Minor.Patch"),
    ("migrate-version", "v1.0.0", "Major.Minor.Patch"),
]


@pytest.mark.parametrize(
    ("tag", "value", "message"), BAD_TAG_VALUES, ids=[f"{t}={v[:12]}" for t, v, _ in BAD_TAG_VALUES]
)
def test_bad_tag_values_fail_with_the_tag_named(tag: str, value: str, message: str) -> None:
    with pytest.raises(InvalidRequest) as raised:
        request_from_tags(
            ImageId.parse(IMAGE_ID),
            {"migrate-to-gallery": "x", tag: value},
            NAMES,
            gallery=GalleryId.parse(GALLERY_ID),
            settings=settings(),
            now=datetime(2026, 1, 1, tzinfo=UTC),
        )
    assert [e["field"] for e in raised.value.errors] == [tag]
    assert message in raised.value.errors[0]["message"]
    assert invalid_tags_reason(raised.value).startswith(f"invalid tags: {tag}: ")


OPTION_TAGS = [n for n in NAMES.inputs if n != NAMES.trigger]


@given(tag=st.sampled_from(OPTION_TAGS), value=st.text(max_size=300))
def test_any_option_tag_value_is_a_request_or_an_invalid_request_naming_that_tag(tag: str, value: str) -> None:
    """Whatever a user writes in an option tag, the trigger gets a request or one InvalidRequest naming the tag
    (never a pydantic ValidationError or a crash, which would fail the event and make Event Grid redeliver)."""
    fields: set[str] = {tag}
    try:
        request_from_tags(
            ImageId.parse(IMAGE_ID),
            {"migrate-to-gallery": "x", tag: value},
            NAMES,
            gallery=GalleryId.parse(GALLERY_ID),
            settings=settings(),
            now=datetime(2026, 1, 1, tzinfo=UTC),
        )
    except InvalidRequest as exc:
        fields = {e["field"] for e in exc.errors}
    assert fields == {tag}


@given(st.text(max_size=300))
def test_any_trigger_value_parses_or_is_an_invalid_request(value: str) -> None:
    with contextlib.suppress(InvalidRequest):
        parse_trigger_value(value, settings(DEFAULT_GALLERY_ID=GALLERY_ID))


def fit(current: int, wanted: list[str]) -> tuple[list[str], list[str]]:
    tags = {f"user-{i}": "v" for i in range(current)}
    fitted, dropped = fit_status_tags(tags, dict.fromkeys(wanted, "x"), NAMES)
    return list(fitted), dropped


def test_status_tags_that_fit_beside_the_users_go_first_by_importance() -> None:
    everything = list(status_tag_priority(NAMES))
    assert fit(45, everything) == (everything, [])
    assert fit(48, everything) == (["migration-status", "migration-request"], everything[2:])
    assert fit(50, everything) == ([], everything)
    # Tags the image already carries are replaced in place and need no room.
    tags = {**{f"user-{i}": "v" for i in range(49)}, "MIGRATION-STATUS": "running"}
    fitted, dropped = fit_status_tags(tags, dict.fromkeys(everything, "x"), NAMES)
    assert (list(fitted), dropped) == (["migration-status"], everything[1:])
    assert status_tag_room_note({f"u{i}": "" for i in range(45)}, NAMES) is None
    note = status_tag_room_note({f"u{i}": "" for i in range(49)}, NAMES)
    assert note is not None
    assert "49 of ARM's 50 tags" in note
    assert "migration-request" in note


def test_status_tags_respect_the_256_character_limit() -> None:
    tags = status_tags(NAMES, MigrationStatus.FAILED, migration_id="m", request_hash="h", reason="x" * 1000)
    assert len(tags["migration-reason"]) == 256


def data(operation: str) -> dict[str, str]:
    return {"operationName": operation}


def test_events_we_act_on() -> None:
    assert image_from_event(WRITE_SUCCESS, IMAGE_ID, data("Microsoft.Compute/images/write")).image is not None
    tags_subject = IMAGE_ID + "/providers/Microsoft.Resources/tags/default"
    decision = image_from_event(WRITE_SUCCESS, tags_subject, data("Microsoft.Resources/tags/write"))
    assert decision.image == ImageId.parse(IMAGE_ID)
    lowered = image_from_event(WRITE_SUCCESS, IMAGE_ID.lower(), data("microsoft.resources/tags/write"))
    assert lowered.image == ImageId.parse(IMAGE_ID)


@pytest.mark.parametrize(
    ("event_type", "subject", "payload", "reason"),
    [
        ("Microsoft.Resources.ResourceDeleteSuccess", IMAGE_ID, data("Microsoft.Compute/images/delete"), "is not"),
        (WRITE_SUCCESS, GALLERY_ID, data("Microsoft.Compute/galleries/write"), "neither an image nor a tags"),
        (WRITE_SUCCESS, GALLERY_ID, data("Microsoft.Resources/tags/write"), "not a managed image"),
        (WRITE_SUCCESS, None, data("Microsoft.Compute/images/write"), "no subject"),
        (WRITE_SUCCESS, IMAGE_ID, None, "neither"),
        (WRITE_SUCCESS, IMAGE_ID, {"operationName": 5}, "neither"),
        ("Microsoft.EventGrid.SubscriptionValidationEvent", "", {}, "is not"),
    ],
)
def test_events_we_ignore(event_type: object, subject: object, payload: object, reason: str) -> None:
    decision = image_from_event(event_type, subject, payload)
    assert decision.image is None
    assert reason in decision.reason


@given(st.text(max_size=100), st.text(max_size=100), st.dictionaries(st.text(max_size=15), st.text(max_size=40)))
def test_event_parsing_never_raises(event_type: str, subject: str, payload: dict[str, str]) -> None:
    image_from_event(event_type, subject, payload)


def test_instance_id_is_deterministic_and_case_insensitive() -> None:
    a = migration_instance_id(ImageId.parse(IMAGE_ID))
    b = migration_instance_id(ImageId.parse(IMAGE_ID.lower()))
    assert a == b
    assert is_migration_instance_id(a)
    assert a.startswith("mig-ubuntu-base-")
    other = migration_instance_id(ImageId.parse(IMAGE_ID.replace("ubuntu-base", "ubuntu-base2")))
    assert other != a


@pytest.mark.parametrize(
    ("event_type", "subject", "payload", "reason"),
    [
        # the exact reasons the trigger logs for an ignored event (``ignored <id>: <reason>``), truncated inputs
        ("T" * 150, IMAGE_ID, data("Microsoft.Compute/images/write"), f"event type {'T' * 100} is not {WRITE_SUCCESS}"),
        (None, IMAGE_ID, data("Microsoft.Compute/images/write"), f"event type None is not {WRITE_SUCCESS}"),
        (WRITE_SUCCESS, "", data("Microsoft.Compute/images/write"), "event has no subject"),
        (WRITE_SUCCESS, 42, data("Microsoft.Compute/images/write"), "event has no subject"),
        (WRITE_SUCCESS, ["x"], data("Microsoft.Compute/images/write"), "event has no subject"),
        (WRITE_SUCCESS, IMAGE_ID, data("o" * 150), f"operation {'o' * 100} is neither an image nor a tags write"),
        (WRITE_SUCCESS, IMAGE_ID, {"resourceUri": IMAGE_ID}, "operation None is neither an image nor a tags write"),
    ],
)
def test_ignored_events_say_why_exactly(event_type: object, subject: object, payload: object, reason: str) -> None:
    decision = image_from_event(event_type, subject, payload)
    assert (decision.image, decision.reason) == (None, reason)


def test_an_accepted_event_names_its_operation() -> None:
    decision = image_from_event(WRITE_SUCCESS, IMAGE_ID, data("Microsoft.Compute/images/write"))
    assert (decision.image, decision.reason) == (ImageId.parse(IMAGE_ID), "Microsoft.Compute/images/write")
