"""ARM path templates -> compiled routes. Matching is case-insensitive, as ARM paths are."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

_PARAM = re.compile(r"\{(\w+)\}")


def compile_template(template: str) -> re.Pattern[str]:
    pattern = ""
    pos = 0
    for m in _PARAM.finditer(template):
        pattern += re.escape(template[pos : m.start()])
        name = m.group(1)
        if name == "scope":
            pattern += rf"(?P<{name}>.+?)"
        elif name == "resourceId":  # the generic /{resourceId} routes: anything
            pattern += rf"(?P<{name}>.*)"
        else:
            pattern += rf"(?P<{name}>[^/]+)"
        pos = m.end()
    pattern += re.escape(template[pos:])
    return re.compile(f"^{pattern}/?$", re.IGNORECASE)


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    operation_id: str
    action: str
    api_versions: tuple[str, ...]
    handler: Callable[..., Any]
    provider: str = "Microsoft.Compute"
    resource_type: str = ""
    action_of: Callable[[str], str] | None = None  # the action depends on the path (generic /{resourceId} routes)
    regex: re.Pattern[str] = field(init=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "regex", compile_template(self.template))

    def action_for(self, path: str) -> str:
        return self.action_of(path) if self.action_of else self.action

    @property
    def writes(self) -> bool:
        return self.method in ("PUT", "PATCH", "DELETE", "POST")


class Router:
    def __init__(self, routes: list[Route]):
        self.routes = routes

    def match(self, method: str, path: str) -> tuple[Route | None, dict[str, str], bool]:
        """(route, params, path_known). ``path_known`` without a route means the method is not supported."""
        known = False
        for route in self.routes:
            m = route.regex.match(path)
            if m:
                known = True
                if route.method == method:
                    return route, m.groupdict(), True
        return None, {}, known
