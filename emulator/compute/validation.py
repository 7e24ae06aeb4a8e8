"""Small validators shared by the Compute models: required properties, enums, immutable properties."""

from __future__ import annotations

from typing import Any

from emulator.core import errors

OS_TYPES = ("Windows", "Linux")
OS_STATES = ("Generalized", "Specialized")
HYPERV = ("V1", "V2")
ARCHITECTURES = ("x64", "Arm64")
CACHING = ("None", "ReadOnly", "ReadWrite")
DISK_STORAGE_TYPES = (
    "Standard_LRS",
    "Premium_LRS",
    "StandardSSD_LRS",
    "UltraSSD_LRS",
    "Premium_ZRS",
    "StandardSSD_ZRS",
    "PremiumV2_LRS",
)
GALLERY_STORAGE_TYPES = ("Standard_LRS", "Standard_ZRS", "Premium_LRS", "PremiumV2_LRS")
STORAGE_STRATEGIES = ("PreferStandard_ZRS", "DefaultStandard_LRS")
REPLICATION_MODES = ("Full", "Shallow")
INT32_MAX = 2**31 - 1


def dig(obj: Any, path: str) -> Any:
    """``dig(body, "properties.storageProfile.osDisk")`` -> value or None."""
    for part in path.split("."):
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)
    return obj


def required(body: dict[str, Any], path: str, root: str) -> Any:
    value = dig(body, path)
    if value is None or value == "":
        raise errors.InvalidParameter(f"Required parameter '{root}.{path}' is missing (null).", target=f"{root}.{path}")
    return value


def enum(value: Any, allowed: tuple[str, ...], prop: str, *, optional: bool = True) -> Any:
    if value is None and optional:
        return None
    if value not in allowed:
        raise errors.InvalidParameter(
            f"The value '{value}' of parameter '{prop}' is not allowed. Allowed values are "
            f"{', '.join(repr(a) for a in allowed)}.",
            target=prop,
        )
    return value


def immutable(old: dict[str, Any], new: dict[str, Any], paths: tuple[str, ...], root: str) -> None:
    """Refuse a change of any of ``paths`` (absent in the new body means "unchanged")."""
    for path in paths:
        after = dig(new, path)
        before = dig(old, path)
        if after is None:
            continue
        if isinstance(after, str) and isinstance(before, str):
            if after.lower() == before.lower():
                continue
        elif after == before:
            continue
        raise errors.PropertyChangeNotAllowed(f"{root}.{path}")


def _content_error(prop: str, expected: str) -> errors.InvalidRequestContent:
    return errors.InvalidRequestContent(
        f"The request content was invalid and could not be deserialized: '{prop}' must be {expected}."
    )


def obj(value: Any, prop: str) -> dict[str, Any]:
    """``value`` as a JSON object (None -> {}), or ARM's deserialization error naming ``prop``."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _content_error(prop, "an object")
    return value


def objs(value: Any, prop: str) -> list[dict[str, Any]]:
    """``value`` as a list of JSON objects (None -> [])."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise _content_error(prop, "an array of objects")
    return value


def string(value: Any, prop: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise _content_error(prop, "a string")
    return value


def location_of(body: dict[str, Any], root: str) -> str:
    loc = string(body.get("location"), f"{root}.location")
    if not loc:
        raise errors.InvalidParameter(f"Required parameter '{root}.location' is missing (null).", target="location")
    return loc


def properties(body: dict[str, Any]) -> dict[str, Any]:
    props = body.get("properties")
    if props is None:
        return {}
    if not isinstance(props, dict):
        raise errors.InvalidRequestContent(
            "The request content was invalid and could not be deserialized: 'properties' must be an object."
        )
    return props


def tags_entry(body: dict[str, Any], *, limit: int) -> dict[str, dict[str, str]]:
    """``{"tags": ...}`` when the request has tags, else nothing: Azure leaves ``tags`` out of a resource created
    without them (recorded traffic: a gallery PUT without tags answers without a ``tags`` key)."""
    return {"tags": tags_of(body, limit=limit)} if "tags" in body else {}


def tags_of(body: dict[str, Any], *, limit: int) -> dict[str, str]:
    """A PUT/PATCH body's tags; ARM holds every resource to its tag limit, not only the Tags API."""
    tags = body.get("tags") or {}
    if not isinstance(tags, dict) or not all(isinstance(v, str) for v in tags.values()):
        raise errors.InvalidRequestContent(
            "The request content was invalid and could not be deserialized: 'tags' must be an object of strings."
        )
    check_tag_count(tags, limit)
    return tags


def check_tag_count(tags: dict[str, str], limit: int) -> None:
    """ARM's 50 tags per resource (Microsoft Learn, "Use tags to organize your Azure resources", Limitations)."""
    if len(tags) > limit:
        raise errors.TooManyTags(f"The number of tags {len(tags)} exceeds the maximum of {limit}.")
