"""ARM resource IDs: parse, build and compare (case-insensitively, as ARM does), and region names."""

from __future__ import annotations

import re
from dataclasses import dataclass

from emulator.core.errors import LinkedInvalidPropertyId


def norm(resource_id: str) -> str:
    """The key under which a resource is stored: lower case, leading slash, no trailing slash."""
    return "/" + resource_id.strip("/").lower()


def region(name: str) -> str:
    """ARM region names are compared without spaces and case: 'West US 2' == 'westus2'."""
    return name.replace(" ", "").lower()


@dataclass(frozen=True)
class ResourceId:
    subscription: str
    resource_group: str | None
    namespace: str | None
    types: tuple[str, ...]
    names: tuple[str, ...]

    @property
    def type(self) -> str:
        """Full resource type, e.g. ``Microsoft.Compute/galleries/images``."""
        return "/".join([self.namespace or "", *self.types]) if self.namespace else ""

    @property
    def name(self) -> str:
        return self.names[-1] if self.names else (self.resource_group or self.subscription)

    def __str__(self) -> str:
        parts = [f"/subscriptions/{self.subscription}"]
        if self.resource_group is not None:
            parts.append(f"/resourceGroups/{self.resource_group}")
        if self.namespace:
            parts.append(f"/providers/{self.namespace}")
            for t, n in zip(self.types, self.names, strict=True):
                parts.append(f"/{t}/{n}")
        return "".join(parts)

    @property
    def parent(self) -> ResourceId:
        return ResourceId(self.subscription, self.resource_group, self.namespace, self.types[:-1], self.names[:-1])

    @property
    def resource_group_id(self) -> str:
        return f"/subscriptions/{self.subscription}/resourceGroups/{self.resource_group}"


_ID = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)(?:/resourceGroups/(?P<rg>[^/]+))?"
    r"(?:/providers/(?P<ns>[^/]+)(?P<rest>(?:/[^/]+/[^/]+)+))?/?$",
    re.IGNORECASE,
)


def parse(resource_id: str, *, prop: str = "id") -> ResourceId:
    """Parse an ARM ID strictly; raise LinkedInvalidPropertyId naming the property when it is not one."""
    m = _ID.match("/" + resource_id.lstrip("/")) if resource_id else None
    if not m:
        raise LinkedInvalidPropertyId(
            f"Property id '{resource_id}' at path '{prop}' is invalid. Expect fully qualified resource Id that "
            "start with '/subscriptions/{subscriptionId}' or '/providers/{resourceProviderNamespace}/'.",
            target=prop,
        )
    segments = [s for s in (m.group("rest") or "").split("/") if s]
    return ResourceId(
        subscription=m.group("sub"),
        resource_group=m.group("rg"),
        namespace=m.group("ns"),
        types=tuple(segments[0::2]),
        names=tuple(segments[1::2]),
    )


def same(a: str, b: str) -> bool:
    return norm(a) == norm(b)
