from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from migration.errors import InvalidRequest
from migration.request import default_definition_name, field_errors, parse_request_body, resolve_request
from migration.settings import DeletionMode
from tests.migration.factories import GALLERY_ID, IMAGE_ID, NOW, settings


def body(**fields: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"sourceImageId": IMAGE_ID, "galleryId": GALLERY_ID}
    data.update(fields)
    return data


def test_defaults_come_from_settings() -> None:
    cfg = settings(DEFAULT_PUBLISHER="Contoso", DEFAULT_TARGET_REGIONS="eastus=2", DEFAULT_END_OF_LIFE_DAYS="30")
    request = resolve_request(parse_request_body(body()), cfg, now=NOW)
    assert request.definition.name == "ubuntu-base"
    assert (request.definition.publisher, request.definition.offer, request.definition.sku) == (
        "Contoso",
        "managed-images",
        "ubuntu-base",
    )
    assert [(r.name, r.replica_count) for r in request.target_regions] == [("eastus", 2)]
    assert request.end_of_life == NOW + timedelta(days=30)
    assert request.deletion_mode == DeletionMode.AFTER_VALIDATION
    assert request.version is None


def test_camel_case_body_with_everything() -> None:
    request = resolve_request(
        parse_request_body(
            body(
                definition={
                    "name": "ubuntu-22",
                    "publisher": "Contoso",
                    "offer": "Ubuntu",
                    "sku": "22_04",
                    "purchasePlan": {"name": "p", "publisher": "pub", "product": "prod"},
                    "features": {"SecurityType": "TrustedLaunchSupported"},
                    "architecture": "x64",
                },
                version="2.1.0",
                targetRegions=[{"name": "East US", "replicaCount": 3, "storageAccountType": "Standard_ZRS"}],
                storageAccountType="Premium_LRS",
                endOfLife="2030-01-01T00:00:00Z",
                excludeFromLatest=True,
                deletionMode="after-approval",
                bootTest=True,
            )
        ),
        settings(),
        now=NOW,
    )
    assert request.version == "2.1.0"
    assert request.definition.purchase_plan is not None
    assert request.target_regions[0].replica_count == 3
    assert request.deletion_mode == DeletionMode.AFTER_APPROVAL
    assert request.exclude_from_latest is True


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"sourceImageId": GALLERY_ID}, "sourceImageId", "not a managed image ID"),
        ({"galleryId": IMAGE_ID}, "galleryId", "not a gallery ID"),
        ({"version": "1.0"}, "version", "not a valid version"),
        ({"endOfLife": "2000-01-01T00:00:00Z"}, "endOfLife", "in the future"),
    ],
)
def test_semantic_errors_name_the_field(fields: dict[str, Any], field: str, message: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        resolve_request(parse_request_body(body(**fields)), settings(), now=NOW)
    assert any(e["field"] == field and message in e["message"] for e in caught.value.errors), caught.value.errors


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"galleryId": GALLERY_ID}, "sourceImageId"),
        (body(targetRegions=[{"name": "eastus", "replicaCount": 0}]), "targetRegions[0].replicaCount"),
        (body(targetRegions="eastus"), "targetRegions"),
        (body(storageAccountType="Ultra_LRS"), "storageAccountType"),
        (body(deletionMode="always"), "deletionMode"),
        (body(definition={"name": "bad name!"}), "definition.name"),
        (body(definition={"publisher": "a\x00b"}), "definition.publisher"),
        (body(definition={"features": {"SecurityType": "Bogus"}}), "definition.features"),
        (body(unknownField=1), "unknownField"),
        (body(excludeFromLatest="maybe"), "excludeFromLatest"),
    ],
)
def test_shape_errors_name_the_field(payload: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_request_body(payload)
    assert field in [e["field"] for e in caught.value.errors], caught.value.errors


def test_missing_gallery_without_default() -> None:
    with pytest.raises(InvalidRequest) as caught:
        resolve_request(parse_request_body({"sourceImageId": IMAGE_ID}), settings(), now=NOW)
    assert caught.value.errors == [
        {"field": "galleryId", "message": "no gallery given and DEFAULT_GALLERY_ID is not set"}
    ]


def test_body_must_be_an_object() -> None:
    with pytest.raises(InvalidRequest, match="JSON object"):
        parse_request_body([1, 2])


def test_default_definition_name() -> None:
    assert default_definition_name("img_") == "img"
    assert default_definition_name("imgX") == "imgX"  # only '_', '.' and '-' are trimmed
    assert default_definition_name("a.b-c_d") == "a.b-c_d"
    assert default_definition_name("x" * 100) == "x" * 80  # cut to a definition name's 80 characters
    # Not a definition name once trimmed: "image-" and the name's letters and digits only, at most 70 of them.
    assert default_definition_name("-Lead Image 2_") == "image-LeadImage2"
    assert default_definition_name("\u00e9" + "A" * 100) == "image-" + "A" * 70


# The messages an API caller reads, to the letter (pydantic prefixes its own "Value error, ").
EXACT_FIELD_ERRORS = [
    (
        {"definition": {"features": {"SecurityType": "Trusted\nLaunch"}}},
        "definition.features.SecurityType",
        "Value error, must not contain control characters",
    ),
    (
        {"definition": {"publisher": "-acme"}},
        "definition.publisher",
        "Value error, use 1-128 letters, digits, '.', '-' or '_', starting and ending with a letter or digit",
    ),
    (
        {"endOfLife": "2028-01-01"},
        "endOfLife",
        "Value error, must be an RFC 3339 date-time string with an offset, e.g. 2028-01-01T00:00:00Z",
    ),
    ({"unknownField": 1}, "unknownField", "unknown field"),
]


@pytest.mark.parametrize(("fields", "field", "message"), EXACT_FIELD_ERRORS)
def test_field_errors_read_exactly(fields: dict[str, Any], field: str, message: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_request_body(body(**fields))
    assert caught.value.errors == [{"field": field, "message": message}]


def test_an_error_about_the_whole_body_is_named_body() -> None:
    with pytest.raises(ValidationError) as caught:
        TypeAdapter(int).validate_python("not a number")
    assert [e["field"] for e in field_errors(caught.value)] == ["(body)"]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3),
    max_leaves=10,
)


@given(
    st.dictionaries(
        st.sampled_from(
            ["sourceImageId", "galleryId", "version", "targetRegions", "definition", "deletionMode", "endOfLife", "x"]
        ),
        json_values,
        max_size=6,
    )
)
def test_request_model_never_raises_anything_but_invalid_request(payload: dict[str, Any]) -> None:
    try:
        resolve_request(parse_request_body(payload), settings(), now=NOW)
    except InvalidRequest as exc:
        message = exc.message
    else:
        message = "accepted"
    assert message


# --- strict parsing: the documented camelCase names and JSON types, nothing coerced ---------------------------
STRICT_REFUSALS = [
    ({"bootTest": "yes"}, "bootTest"),
    ({"bootTest": 1}, "bootTest"),
    ({"bootTest": "true"}, "bootTest"),
    ({"excludeFromLatest": 0}, "excludeFromLatest"),
    ({"targetRegions": [{"name": "eastus", "replicaCount": "2"}]}, "targetRegions[0].replicaCount"),
    ({"targetRegions": [{"name": "eastus", "replicaCount": 2.0}]}, "targetRegions[0].replicaCount"),
    ({"targetRegions": [{"name": "eastus", "replicaCount": True}]}, "targetRegions[0].replicaCount"),
    ({"endOfLife": 1893456000}, "endOfLife"),  # Unix time
    ({"endOfLife": "1893456000"}, "endOfLife"),
    ({"endOfLife": "2030-01-01"}, "endOfLife"),  # a date is not a date-time
    ({"endOfLife": "2030-01-01T00:00:00"}, "endOfLife"),  # RFC 3339 needs the offset
    ({"source_image_id": IMAGE_ID}, "source_image_id"),  # snake_case is not the documented name
    ({"deletion_mode": "never"}, "deletion_mode"),
    ({"targetRegions": [{"name": "eastus", "replica_count": 2}]}, "targetRegions[0].replica_count"),
    ({"definition": {"purchase_plan": {"name": "a", "publisher": "b", "product": "c"}}}, "definition.purchase_plan"),
    ({"deletionMode": "Never"}, "deletionMode"),  # enums are exact
    ({"targetRegions": [{"name": "eastus"}, {"name": "East US"}]}, "targetRegions[1].name"),  # listed twice
    (
        {"targetRegions": [{"name": "eastus", "storageAccountType": "Standard_LRS"}, {"name": "eastus"}]},
        "targetRegions[1].name",
    ),
    ({"targetRegions": [{"name": "\u212aoreacentral"}]}, "targetRegions[0].name"),  # KELVIN SIGN
]


@pytest.mark.parametrize(("fields", "field"), STRICT_REFUSALS, ids=[str(f)[:40] for f, _ in STRICT_REFUSALS])
def test_no_coercion_no_aliases_no_duplicates(fields: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        resolve_request(parse_request_body(body(**fields)), settings(), now=NOW)
    assert field in [e["field"] for e in caught.value.errors], caught.value.errors


def test_documented_types_are_accepted() -> None:
    request = resolve_request(
        parse_request_body(
            body(
                bootTest=False,
                excludeFromLatest=True,
                endOfLife="2030-01-01T00:00:00+02:00",
                targetRegions=[{"name": "East US", "replicaCount": 3}],
            )
        ),
        settings(),
        now=NOW,
    )
    assert (request.boot_test, request.exclude_from_latest, request.target_regions[0].replica_count) == (False, True, 3)
    assert request.end_of_life is not None
    assert request.end_of_life.utcoffset() == timedelta(hours=2)


@given(st.sampled_from(["bootTest", "excludeFromLatest"]), st.one_of(st.integers(), st.text(), st.floats()))
def test_booleans_are_only_json_booleans(field: str, value: object) -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_request_body(body(**{field: value}))
    assert [e["field"] for e in caught.value.errors] == [field]


@given(st.one_of(st.text(max_size=12), st.floats(allow_nan=False), st.booleans()))
def test_replica_counts_are_only_json_integers(value: object) -> None:
    with pytest.raises(InvalidRequest):
        parse_request_body(body(targetRegions=[{"name": "eastus", "replicaCount": value}]))
