"""RBAC-lite: one role (ARM role-definition semantics: actions/notActions with ``*`` wildcards, matched without
case) applied to every caller, optionally limited to assignable scopes. No role loaded = everything allowed."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any


def _pattern(action: str) -> re.Pattern[str]:
    return re.compile("^" + re.escape(action).replace(r"\*", ".*") + "$", re.IGNORECASE)


@dataclass
class Role:
    actions: list[str]
    not_actions: list[str] = field(default_factory=list)
    scopes: list[str] = field(default_factory=list)
    name: str = "custom"

    def allows(self, action: str, scope: str) -> bool:
        if self.scopes and not any(
            scope.lower() == s.lower().rstrip("/") or scope.lower().startswith(s.lower().rstrip("/") + "/")
            for s in self.scopes
        ):
            return False
        if not any(_pattern(a).match(action) for a in self.actions):
            return False
        return not any(_pattern(a).match(action) for a in self.not_actions)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "actions": self.actions, "notActions": self.not_actions, "scopes": self.scopes}


def parse_role(doc: Any) -> Role:
    """Accepts ``{"actions", "notActions", "scopes"}``, an ARM roleDefinition (``properties.permissions[]``, as in
    a template's ``Microsoft.Authorization/roleDefinitions`` resource), or a list of either (actions are unioned)."""
    if isinstance(doc, list):
        roles = [parse_role(d) for d in doc]
        return Role(
            actions=[a for r in roles for a in r.actions],
            not_actions=[a for r in roles for a in r.not_actions],
            scopes=[s for r in roles for s in r.scopes],
            name="+".join(r.name for r in roles) or "custom",
        )
    if not isinstance(doc, dict):
        raise ValueError("a role is a JSON object or a list of objects")
    props = doc.get("properties", doc)
    if "permissions" in props:
        perms = props["permissions"]
        role = parse_role([{"actions": p.get("actions", []), "notActions": p.get("notActions", [])} for p in perms])
        role.scopes = list(doc.get("scopes", []))  # assignableScopes in templates are expressions: not used
        role.name = str(props.get("roleName", "custom"))
        return role
    actions = props.get("actions")
    if not isinstance(actions, list):
        raise ValueError("a role needs 'actions' (a list of ARM actions)")
    return Role(
        actions=list(actions),
        not_actions=list(props.get("notActions", [])),
        scopes=list(props.get("scopes", [])),
        name=str(props.get("name", "custom")),
    )
