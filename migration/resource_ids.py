"""Strict parsing of the ARM resource IDs we accept from users and events.

ARM compares IDs case-insensitively, so every ID type here keeps the user's casing for display (``str(id)``)
and compares/hashes on a key folded the way ARM compares (:func:`migration.names.arm_key`). Parsing is strict on
purpose: an ID that is not exactly a managed image (or gallery, ...) is refused with a message saying what was
expected, so nothing a user types is ever interpolated into a URL: activities hand the parsed parts to the Azure
SDK, which encodes them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar, Self

from migration.errors import InvalidRequest
from migration.names import arm_key
from migration.versions import parse_version

GUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
SUBSCRIPTION_RE = GUID_RE
# Resource group: 1-90 of letters, digits, underscore, parentheses, hyphen, period; not ending in a period.
RESOURCE_GROUP_RE = re.compile(r"^[\w()\-.]{0,89}[\w()\-]$")
# Managed image (Microsoft.Compute/images): 1-80, alphanumeric start, alphanumeric or underscore end.
IMAGE_NAME_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9_.\-]{0,78}[A-Za-z0-9_])?$", re.ASCII)
# Gallery: the spec's pattern ^[^_\W][\w-._]{0,79}(?<![-.])$ read with ASCII word characters.
GALLERY_NAME_RE = re.compile(r"^[^_\W][\w\-._]{0,79}(?<![-.])$", re.ASCII)
# Image definition: letters, digits, dots, dashes, underscores in the middle; alphanumeric ends; max 80.
DEFINITION_NAME_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9_.\-]{0,78}[A-Za-z0-9])?$", re.ASCII)
# Scale sets and VMs: 1-64 (VMSS) / 1-64 (VM), letters, digits, underscore, period, hyphen.
GENERIC_NAME_RE = re.compile(r"^[A-Za-z0-9_](?:[A-Za-z0-9_.\-]{0,78}[A-Za-z0-9_])?$", re.ASCII)

_FORBIDDEN_CHARS = re.compile(r"[\s?#%\\\x00-\x1f\x7f]")


@dataclass(frozen=True)
class ParsedId:
    """The generic shape ``/subscriptions/{s}/resourceGroups/{g}/providers/{ns}/{type}/{name}[/{type}/{name}]``."""

    subscription_id: str
    resource_group: str
    namespace: str
    types: tuple[str, ...]
    names: tuple[str, ...]

    @property
    def full_type(self) -> str:
        return "/".join((self.namespace, *self.types))


def parse_resource_id(text: object) -> ParsedId:
    """Parse a resource-group-scoped ARM ID; raise :class:`InvalidRequest` saying what is wrong."""
    if not isinstance(text, str):
        raise InvalidRequest(f"a resource ID must be a string, got {type(text).__name__}")
    if len(text) > 1024:
        raise InvalidRequest("resource ID is longer than 1024 characters")
    if _FORBIDDEN_CHARS.search(text):
        raise InvalidRequest("resource ID contains whitespace, control, '?', '#', '%' or '\\' characters")
    if not text.startswith("/"):
        raise InvalidRequest("resource ID must start with '/subscriptions/'")
    parts = text[1:].split("/")
    if any(p in ("", ".", "..") for p in parts):
        raise InvalidRequest("resource ID has an empty, '.' or '..' segment")
    if len(parts) < 8 or len(parts) % 2 != 0:
        raise InvalidRequest(
            "resource ID must look like /subscriptions/{id}/resourceGroups/{name}/providers/{namespace}/{type}/{name}"
        )
    if parts[0].lower() != "subscriptions" or parts[2].lower() != "resourcegroups" or parts[4].lower() != "providers":
        raise InvalidRequest(
            "resource ID must look like /subscriptions/{id}/resourceGroups/{name}/providers/{namespace}/{type}/{name}"
        )
    if not SUBSCRIPTION_RE.fullmatch(parts[1]):
        raise InvalidRequest(f"'{parts[1]}' is not a subscription ID (a GUID)")
    if not RESOURCE_GROUP_RE.fullmatch(parts[3]):
        raise InvalidRequest(f"'{parts[3]}' is not a valid resource group name")
    rest = parts[6:]
    return ParsedId(
        subscription_id=parts[1].lower(),
        resource_group=parts[3],
        namespace=parts[5],
        types=tuple(rest[0::2]),
        names=tuple(rest[1::2]),
    )


@dataclass(frozen=True, eq=False)
class _TypedId:
    """Base of the typed IDs: canonical casing for fixed segments, case-insensitive equality."""

    subscription_id: str
    resource_group: str

    TYPE: ClassVar[str]  # e.g. "Microsoft.Compute/images"
    KIND: ClassVar[str]  # human name used in messages

    def __str__(self) -> str:  # pragma: no cover - overridden
        raise NotImplementedError

    @property
    def key(self) -> str:
        """Case-insensitive identity, as ARM compares IDs (ordinal, ignoring case)."""
        return arm_key(str(self))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _TypedId) and self.key == other.key

    def __hash__(self) -> int:
        return hash(self.key)

    @property
    def resource_group_id(self) -> str:
        return f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"

    @classmethod
    def _parse_typed(cls, text: object, depth: int) -> ParsedId:
        parsed = parse_resource_id(text)
        if parsed.full_type.lower() != cls.TYPE.lower() or len(parsed.names) != depth:
            raise InvalidRequest(f"'{text}' is not a {cls.KIND} ID (expected type {cls.TYPE}, got {parsed.full_type})")
        return parsed


def _check_name(name: str, pattern: re.Pattern[str], what: str) -> str:
    if not pattern.fullmatch(name):
        raise InvalidRequest(f"'{name}' is not a valid {what} name")
    return name


@dataclass(frozen=True, eq=False)
class ImageId(_TypedId):
    """A managed image: ``.../providers/Microsoft.Compute/images/{name}``."""

    name: str
    TYPE = "Microsoft.Compute/images"
    KIND = "managed image"

    @classmethod
    def parse(cls, text: object) -> Self:
        p = cls._parse_typed(text, 1)
        return cls(p.subscription_id, p.resource_group, _check_name(p.names[0], IMAGE_NAME_RE, "managed image"))

    def __str__(self) -> str:
        return f"{self.resource_group_id}/providers/Microsoft.Compute/images/{self.name}"


@dataclass(frozen=True, eq=False)
class GalleryId(_TypedId):
    """An Azure Compute Gallery: ``.../providers/Microsoft.Compute/galleries/{name}``."""

    name: str
    TYPE = "Microsoft.Compute/galleries"
    KIND = "gallery"

    @classmethod
    def parse(cls, text: object) -> Self:
        p = cls._parse_typed(text, 1)
        return cls(p.subscription_id, p.resource_group, _check_name(p.names[0], GALLERY_NAME_RE, "gallery"))

    def __str__(self) -> str:
        return f"{self.resource_group_id}/providers/Microsoft.Compute/galleries/{self.name}"

    def definition(self, name: str) -> DefinitionId:
        return DefinitionId(self.subscription_id, self.resource_group, self.name, name)


@dataclass(frozen=True, eq=False)
class DefinitionId(_TypedId):
    """A gallery image definition: ``.../galleries/{gallery}/images/{name}``."""

    gallery: str
    name: str
    TYPE = "Microsoft.Compute/galleries/images"
    KIND = "gallery image definition"

    @classmethod
    def parse(cls, text: object) -> Self:
        p = cls._parse_typed(text, 2)
        gallery = _check_name(p.names[0], GALLERY_NAME_RE, "gallery")
        return cls(p.subscription_id, p.resource_group, gallery, _check_name(p.names[1], DEFINITION_NAME_RE, "image"))

    def __str__(self) -> str:
        return f"{self.resource_group_id}/providers/Microsoft.Compute/galleries/{self.gallery}/images/{self.name}"

    @property
    def gallery_id(self) -> GalleryId:
        return GalleryId(self.subscription_id, self.resource_group, self.gallery)

    def version(self, name: str) -> VersionId:
        return VersionId(self.subscription_id, self.resource_group, self.gallery, self.name, name)


@dataclass(frozen=True, eq=False)
class VersionId(_TypedId):
    """A gallery image version: ``.../galleries/{gallery}/images/{definition}/versions/{name}``."""

    gallery: str
    definition: str
    name: str
    TYPE = "Microsoft.Compute/galleries/images/versions"
    KIND = "gallery image version"

    @classmethod
    def parse(cls, text: object) -> Self:
        p = cls._parse_typed(text, 3)
        parse_version(p.names[2])
        return cls(
            p.subscription_id,
            p.resource_group,
            _check_name(p.names[0], GALLERY_NAME_RE, "gallery"),
            _check_name(p.names[1], DEFINITION_NAME_RE, "image"),
            p.names[2],
        )

    def __str__(self) -> str:
        return f"{self.definition_id}/versions/{self.name}"

    @property
    def definition_id(self) -> DefinitionId:
        return DefinitionId(self.subscription_id, self.resource_group, self.gallery, self.definition)


def same_id(a: str | None, b: str | None) -> bool:
    """ARM ID equality: case-insensitive as ARM compares, ignoring a trailing slash."""
    if a is None or b is None:
        return False
    return id_key(a) == id_key(b)


def id_key(resource_id: str) -> str:
    """The comparison key of any ARM ID text (for dictionaries keyed by ID)."""
    return arm_key(resource_id.rstrip("/"))
