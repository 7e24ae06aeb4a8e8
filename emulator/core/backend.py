"""What every backend shares: the store, the clock, the settings and the operations; lookups that raise ARM's
not-found errors; and the result type handlers turn into HTTP responses."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from emulator.clock import Clock
from emulator.core import errors
from emulator.core.ids import ResourceId, norm, parse
from emulator.core.lro import Operations
from emulator.core.store import Store
from emulator.settings import Settings


@dataclass
class Result:
    """What a backend operation produced. ``created`` picks 201 over 200; ``operation`` makes it long-running."""

    body: dict[str, Any] | None
    created: bool = False
    operation: dict[str, Any] | None = None
    deleted: bool = False
    extra: dict[str, Any] = field(default_factory=dict)
    answer: dict[str, Any] | None = None  # what the write answers when it differs from the stored body

    @property
    def response_body(self) -> dict[str, Any] | None:
        return self.answer if self.answer is not None else self.body


class Context:
    """Shared by all backends (composition, not a 40-base class hierarchy)."""

    def __init__(self, store: Store, clock: Clock, settings: Settings):
        self.store = store
        self.clock = clock
        self.settings = settings
        self.ops = Operations(store)

    def start_operation(
        self,
        rid: ResourceId,
        location: str,
        kind: str,
        api_version: str,
        seconds: float | None,
        style: str = "capsOperations",
    ) -> dict[str, Any]:
        """An LRO on ``rid`` due in ``seconds`` of clock time (None: the settler decides, e.g. replication).
        ``style`` is the URL segment ARM uses: capsOperations (gallery resources) or operations (images, VMs)."""
        return self.ops.start(
            resource_id=str(rid),
            kind=kind,
            subscription=rid.subscription,
            location=location,
            now=self.clock.now(),
            due_seconds=seconds,
            style=style,
            api_version=api_version,
        )

    # --- lookups ---------------------------------------------------------------------------------------------
    def require_subscription(self, subscription: str) -> dict[str, Any]:
        sub = self.store.subscriptions.get(subscription.lower())
        if sub is None:
            raise errors.SubscriptionNotFound(subscription)
        return sub

    def require_group(self, rid: ResourceId) -> dict[str, Any]:
        self.require_subscription(rid.subscription)
        record = self.store.get(rid.resource_group_id)
        if record is None:
            raise errors.ResourceGroupNotFound(rid.resource_group or "")
        return record

    def require(self, resource_id: str) -> dict[str, Any]:
        """The stored record, or ARM's 404 for the first missing level (group, parent, then the resource)."""
        rid = parse(resource_id)
        self.require_group(rid)
        for depth in range(1, len(rid.types)):
            parent = ResourceId(
                rid.subscription, rid.resource_group, rid.namespace, rid.types[:depth], rid.names[:depth]
            )
            if self.store.get(str(parent)) is None:
                raise errors.ParentResourceNotFound(parent.name)
        record = self.store.get(resource_id)
        if record is None:
            raise errors.ResourceNotFound(_type_path(rid), rid.name, rid.resource_group)
        return record  # one being deleted too: it reads as Deleting until the delete completes (spec's state enum)

    def refuse_deleting(self, resource_id: str) -> None:
        """A write to a resource whose delete is in progress is refused (a create would otherwise be removed by the
        pending delete); Azure's exact wording for it is not in the recordings, the code is ARM's 409."""
        record = self.store.get(resource_id)
        if record is not None and record["meta"].get("deleting"):
            raise errors.Conflict(
                f"The resource '{record['body']['id']}' is being deleted; it can be written again once the delete "
                "has completed."
            )

    def find(self, resource_id: str) -> dict[str, Any] | None:
        """The resource unless it is absent or being deleted (what the rules treat as existing)."""
        record = self.store.get(resource_id)
        return None if record is None or record["meta"].get("deleting") else record

    def canonical_id(self, rid: ResourceId) -> ResourceId:
        """Keep the casing of names as first created (ARM returns IDs in the casing of creation)."""
        group = self.store.get(rid.resource_group_id) if rid.resource_group else None
        rg = group["body"]["name"] if group else rid.resource_group
        names = list(rid.names)
        for depth in range(1, len(rid.types) + 1):
            prefix = ResourceId(
                rid.subscription, rid.resource_group, rid.namespace, rid.types[:depth], rid.names[:depth]
            )
            found = self.store.get(str(prefix))
            if found:
                names[depth - 1] = found["body"]["name"]
        return ResourceId(rid.subscription.lower(), rg, rid.namespace, rid.types, tuple(names))

    def list_under(self, scope: str, resource_type: str) -> list[dict[str, Any]]:
        """Lists show resources being deleted, as Deleting, until their delete completes."""
        return [r["body"] for r in self.store.under(scope, resource_type)]

    def list_subscription(self, subscription: str, resource_type: str) -> list[dict[str, Any]]:
        self.require_subscription(subscription)
        return self.list_under(f"/subscriptions/{subscription}", resource_type)


def _type_path(rid: ResourceId) -> str:
    parts = [rid.namespace or ""]
    for t, n in zip(rid.types[:-1], rid.names[:-1], strict=True):
        parts += [t, n]
    parts.append(rid.types[-1] if rid.types else "")
    return "/".join(parts)


def key(resource_id: str) -> str:
    return norm(resource_id)
