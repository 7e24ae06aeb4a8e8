"""RBAC-lite: role assignments with ARM role-definition semantics (actions/notActions with ``*`` wildcards, matched
without case), each optionally limited to assignable scopes and to some principals. No role loaded = everything
allowed.

A request is allowed when one role allows it: ARM's effective permissions are the union of the caller's role
assignments, and a role's ``notActions`` only subtract from that role's own ``actions`` (Learn, "Understand Azure
role definitions", NotActions). So a list of roles is kept as a list, never merged into one, and each role stays at
its own scopes: the source-image role at the image scopes, the gallery role at the gallery's resource group.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Any

_NS = uuid.UUID("6c1f7e62-3f0a-4d39-9a51-1f6c2b7e9d40")


def _pattern(action: str) -> re.Pattern[str]:
    return re.compile("^" + re.escape(action).replace(r"\*", ".*") + "$", re.IGNORECASE)


def _under(scope: str, parent: str) -> bool:
    scope, parent = scope.lower().rstrip("/"), parent.lower().rstrip("/")
    return scope == parent or scope.startswith(parent + "/")


@dataclass
class Role:
    actions: list[str]
    not_actions: list[str] = field(default_factory=list)
    scopes: list[str] = field(default_factory=list)
    name: str = "custom"
    principals: list[str] = field(default_factory=list)  # object IDs it is assigned to; empty = every caller

    def scope_of(self, scope: str) -> str | None:
        """The assignment scope that covers ``scope`` ('' when the role has no scope limit), or None."""
        if not self.scopes:
            return ""
        return next((s.rstrip("/") for s in self.scopes if _under(scope, s)), None)

    def allows(self, action: str, scope: str, principal: str | None = None) -> bool:
        if self.principals and (principal or "").lower() not in {p.lower() for p in self.principals}:
            return False
        if self.scope_of(scope) is None:
            return False
        if not any(_pattern(a).match(action) for a in self.actions):
            return False
        return not any(_pattern(a).match(action) for a in self.not_actions)

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "name": self.name,
            "actions": self.actions,
            "notActions": self.not_actions,
            "scopes": self.scopes,
        }
        if self.principals:
            doc["principals"] = self.principals
        return doc


@dataclass(frozen=True)
class Grant:
    """Which role assignment allowed a request: what ARM reports as ``authorization.evidence`` in the resource
    events it raises (role, roleAssignmentScope, roleAssignmentId, roleDefinitionId, principalId, principalType)."""

    role: str
    assignment_scope: str
    assignment_id: str
    definition_id: str


@dataclass
class Roles:
    """The role assignments in force."""

    roles: list[Role]

    def grant(self, action: str, scope: str, principal: str | None = None) -> Grant | None:
        for role in self.roles:
            if role.allows(action, scope, principal):
                subscription = "/".join(scope.split("/")[:3]) if scope.lower().startswith("/subscriptions/") else ""
                assigned_at = role.scope_of(scope) or subscription
                definition = uuid.uuid5(_NS, role.name)
                assignment = uuid.uuid5(_NS, f"{role.name}|{assigned_at.lower()}|{(principal or '').lower()}")
                return Grant(
                    role=role.name,
                    assignment_scope=assigned_at,
                    assignment_id=f"{assigned_at}/providers/Microsoft.Authorization/roleAssignments/{assignment}",
                    definition_id=f"{subscription}/providers/Microsoft.Authorization/roleDefinitions/{definition}",
                )
        return None

    def allows(self, action: str, scope: str, principal: str | None = None) -> bool:
        return self.grant(action, scope, principal) is not None

    def to_json(self) -> dict[str, Any] | list[dict[str, Any]]:
        docs = [r.to_json() for r in self.roles]
        return docs[0] if len(docs) == 1 else docs


def parse_role(doc: Any) -> Roles:
    """Accepts ``{"actions", "notActions", "scopes", "principals", "name"}``, an ARM roleDefinition
    (``properties.permissions[]``, as in a template's ``Microsoft.Authorization/roleDefinitions`` resource, with
    optional top-level ``scopes`` and ``principals``), or a list of either (each role kept at its own scopes)."""
    if isinstance(doc, list):
        return Roles([role for d in doc for role in parse_role(d).roles])
    if not isinstance(doc, dict):
        raise ValueError("a role is a JSON object or a list of objects")
    principals = doc.get("principals", [])
    if not isinstance(principals, list) or not all(isinstance(p, str) for p in principals):
        raise ValueError("'principals' is a list of object IDs")
    props = doc.get("properties", doc)
    if "permissions" in props:
        perms = props["permissions"]
        return Roles(
            [
                Role(
                    actions=[a for p in perms for a in p.get("actions", [])],
                    not_actions=[a for p in perms for a in p.get("notActions", [])],
                    scopes=list(doc.get("scopes", [])),  # assignableScopes in templates are expressions: not used
                    name=str(props.get("roleName", "custom")),
                    principals=list(principals),
                )
            ]
        )
    actions = props.get("actions")
    if not isinstance(actions, list):
        raise ValueError("a role needs 'actions' (a list of ARM actions)")
    return Roles(
        [
            Role(
                actions=list(actions),
                not_actions=list(props.get("notActions", [])),
                scopes=list(props.get("scopes", [])),
                name=str(props.get("name", "custom")),
                principals=list(principals),
            )
        ]
    )
