import pytest
from hypothesis import given
from hypothesis import strategies as st

from migration.errors import InvalidRequest
from migration.resource_ids import DefinitionId, GalleryId, ImageId, VersionId, parse_resource_id, same_id
from tests.migration.factories import GALLERY_ID, IMAGE_ID, SUB


def test_image_id_round_trips_with_canonical_casing() -> None:
    lowered = IMAGE_ID.lower().replace("resourcegroups", "resourcegroups")
    image = ImageId.parse(lowered)
    assert str(image) == f"/subscriptions/{SUB}/resourceGroups/rg-images/providers/Microsoft.Compute/images/ubuntu-base"
    assert image == ImageId.parse(IMAGE_ID)
    assert hash(image) == hash(ImageId.parse(IMAGE_ID.upper().replace(SUB.upper(), SUB)))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "must start with '/subscriptions/'"),
        ("subscriptions/x", "must start with '/subscriptions/'"),
        (GALLERY_ID, "is not a managed image ID"),
        (IMAGE_ID + "/extra/seg", "is not a managed image ID"),
        (IMAGE_ID.replace(SUB, "not-a-guid"), "is not a subscription ID"),
        (IMAGE_ID + "?api-version=1", "characters"),
        (IMAGE_ID.replace("ubuntu-base", "../x"), "'.' or '..' segment"),
        (IMAGE_ID.replace("ubuntu-base", "bad%2Fname"), "characters"),
        (IMAGE_ID.replace("ubuntu-base", "-leading"), "not a valid managed image name"),
        (IMAGE_ID.replace("rg-images", "rg."), "not a valid resource group name"),
        (IMAGE_ID + "\n", "characters"),
        ("/" + "a/" * 600, "longer than 1024"),
    ],
)
def test_bad_image_ids_are_refused_with_a_reason(text: str, message: str) -> None:
    with pytest.raises(InvalidRequest, match=message):
        ImageId.parse(text)


def test_non_string_is_refused() -> None:
    with pytest.raises(InvalidRequest, match="must be a string"):
        ImageId.parse(42)


def test_gallery_definition_version_ids() -> None:
    gallery = GalleryId.parse(GALLERY_ID)
    definition = gallery.definition("ubuntu")
    version = definition.version("1.2.3")
    assert DefinitionId.parse(str(definition)) == definition
    assert VersionId.parse(str(version)).definition_id == definition
    assert version.definition_id.gallery_id == gallery
    with pytest.raises(InvalidRequest, match="not a valid version"):
        VersionId.parse(str(definition) + "/versions/latest")
    with pytest.raises(InvalidRequest, match="gallery"):
        GalleryId.parse(GALLERY_ID.replace("corpGallery", "_bad"))


def test_same_id_is_case_insensitive() -> None:
    assert same_id(IMAGE_ID, IMAGE_ID.upper())
    assert same_id(IMAGE_ID + "/", IMAGE_ID)
    assert not same_id(IMAGE_ID, None)
    assert not same_id(IMAGE_ID, GALLERY_ID)


names = st.from_regex(r"\A[A-Za-z0-9](?:[A-Za-z0-9_.\-]{0,20}[A-Za-z0-9_])?\Z", fullmatch=True)
groups = st.from_regex(r"\A[A-Za-z0-9_()\-]{1,20}\Z", fullmatch=True)


@given(name=names, group=groups, upper=st.booleans())
def test_valid_image_ids_parse_and_compare_case_insensitively(name: str, group: str, upper: bool) -> None:
    text = f"/subscriptions/{SUB}/resourceGroups/{group}/providers/Microsoft.Compute/images/{name}"
    image = ImageId.parse(text.upper().replace(SUB.upper(), SUB) if upper else text)
    assert image == ImageId.parse(text)
    assert ImageId.parse(str(image)) == image


@given(st.text(max_size=200))
def test_parser_never_crashes_on_arbitrary_text(text: str) -> None:
    try:
        outcome = parse_resource_id(text).subscription_id
    except InvalidRequest as exc:
        outcome = exc.message
    assert outcome


@given(st.text(alphabet="/?#%\\ .\x00abc", max_size=60))
def test_hostile_characters_never_pass(text: str) -> None:
    candidate = IMAGE_ID.replace("ubuntu-base", text)
    try:
        image = ImageId.parse(candidate)
    except InvalidRequest:
        return
    assert all(c not in image.name for c in "/?#%\\ \x00")
