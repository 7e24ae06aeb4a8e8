"""Subscriptions, resource groups and the Tags API (operationIds ResourceGroups_*, Tags_*AtScope)."""

from __future__ import annotations

import re
from typing import Any

from emulator.compute.validation import check_tag_count
from emulator.core import errors
from emulator.core.backend import Context, Result
from emulator.core.ids import norm, parse
from emulator.identity import TENANT_ID

TAGS_SUFFIX = "/providers/Microsoft.Resources/tags/default"
_TAG_NAME_RESERVED = re.compile(r"[<>%&\\?/\x00-\x1f]")


class ResourcesBackend:
    def __init__(self, ctx: Context):
        self.ctx = ctx

    # --- subscriptions ---------------------------------------------------------------------------------------
    def create_subscription(self, subscription_id: str, display_name: str | None = None) -> dict[str, Any]:
        sub = {
            "id": f"/subscriptions/{subscription_id}",
            "subscriptionId": subscription_id,
            "displayName": display_name or f"Emulated subscription {subscription_id[:8]}",
            "tenantId": TENANT_ID,
            "state": "Enabled",
        }
        self.ctx.store.subscriptions[subscription_id.lower()] = sub
        self.ctx.store.mark("subscriptions", subscription_id.lower(), sub)
        return sub

    def get_subscription(self, subscription_id: str) -> dict[str, Any]:
        return self.ctx.require_subscription(subscription_id)

    # --- resource groups -------------------------------------------------------------------------------------
    def create_or_update_resource_group(self, subscription_id: str, name: str, body: dict[str, Any]) -> Result:
        self.ctx.require_subscription(subscription_id)
        if not re.fullmatch(r"[-\w._()]{1,90}", name) or name.endswith("."):
            raise errors.InvalidParameter(
                f"Resource group name '{name}' is invalid. It can include alphanumeric, underscore, parentheses, "
                "hyphen, period (except at end), and Unicode characters that match the allowed characters.",
                target="resourceGroupName",
            )
        location = body.get("location")
        if not isinstance(location, str) or not location:
            raise errors.InvalidParameter("Required parameter 'location' is missing (null).", target="location")
        rg_id = f"/subscriptions/{subscription_id.lower()}/resourceGroups/{name}"
        existing = self.ctx.store.get(rg_id)
        if existing:
            stored = existing["body"]
            if stored["location"].replace(" ", "").lower() != location.replace(" ", "").lower():
                raise errors.InvalidParameter(
                    f"Invalid resource group location '{location}'. The Resource group already exists in location "
                    f"'{stored['location']}'.",
                    target="location",
                )
            stored["tags"] = body.get("tags", stored.get("tags", {}))
            self.ctx.store.mark_record(existing)
            return Result(stored)
        group = {
            "id": rg_id,
            "name": name,
            "type": "Microsoft.Resources/resourceGroups",
            "location": location,
            "tags": body.get("tags") or {},
            "properties": {"provisioningState": "Succeeded"},
        }
        self.ctx.store.put(group)
        return Result(group, created=True)

    def get_resource_group(self, subscription_id: str, name: str) -> dict[str, Any]:
        rg_id = f"/subscriptions/{subscription_id}/resourceGroups/{name}"
        return self.ctx.require_group(parse(rg_id))["body"]

    def list_resource_groups(self, subscription_id: str) -> list[dict[str, Any]]:
        self.ctx.require_subscription(subscription_id)
        prefix = f"/subscriptions/{subscription_id.lower()}/resourcegroups/"
        return [r["body"] for k, r in self.ctx.store.resources.items() if k.startswith(prefix) and k.count("/") == 4]

    def delete_resource_group(self, subscription_id: str, name: str) -> Result:
        """Deletes the group and everything in it (synchronously; ARM does it as an LRO)."""
        group = self.get_resource_group(subscription_id, name)
        prefix = norm(group["id"])
        for k in [k for k in self.ctx.store.resources if k == prefix or k.startswith(prefix + "/")]:
            self.ctx.store.remove(k)
        return Result(None, deleted=True)

    # --- tags at scope ---------------------------------------------------------------------------------------
    def _scope_record(self, scope: str) -> dict[str, Any]:
        rid = parse(scope, prop="scope")
        if rid.namespace:
            return self.ctx.require(scope)
        if rid.resource_group:
            return self.ctx.require_group(rid)
        return {"body": self.ctx.require_subscription(rid.subscription)}  # subscription scope (no record)

    @staticmethod
    def _tags_body(scope: str, tags: dict[str, str]) -> dict[str, Any]:
        scope_id = "/" + scope.strip("/")
        return {
            "id": scope_id + TAGS_SUFFIX,
            "name": "default",
            "type": "Microsoft.Resources/tags",
            "properties": {"tags": dict(tags)},
        }

    def get_at_scope(self, scope: str) -> dict[str, Any]:
        record = self._scope_record(scope)
        return self._tags_body(record["body"]["id"], record["body"].get("tags") or {})

    def _write_tags(self, scope: str, tags: dict[str, str]) -> Result:
        self.check_tags(tags)
        record = self._scope_record(scope)
        record["body"]["tags"] = dict(tags)
        if "meta" in record:
            self.ctx.store.mark_record(record)
        else:
            sub = record["body"]
            self.ctx.store.mark("subscriptions", sub["subscriptionId"].lower(), sub)
        return Result(self._tags_body(record["body"]["id"], tags), extra={"scopeId": record["body"]["id"]})

    def create_or_update_at_scope(self, scope: str, body: dict[str, Any]) -> Result:
        return self._write_tags(scope, self._tags_param(body))

    def update_at_scope(self, scope: str, body: dict[str, Any]) -> Result:
        operation = body.get("operation")
        if operation not in ("Merge", "Replace", "Delete"):
            raise errors.InvalidParameter(
                f"The value '{operation}' of parameter 'operation' is invalid. Allowed values are 'Replace', "
                "'Merge' and 'Delete'.",
                target="operation",
            )
        given = self._tags_param(body)
        current = dict(self._scope_record(scope)["body"].get("tags") or {})
        if operation == "Replace":
            tags = given
        elif operation == "Merge":
            tags = {**current, **given}
        else:  # Delete: by name, or by name and value when a value is given
            tags = {k: v for k, v in current.items() if not (k in given and given[k] in ("", v))}
        return self._write_tags(scope, tags)

    def delete_at_scope(self, scope: str) -> Result:
        result = self._write_tags(scope, {})
        return Result(None, extra=result.extra)

    @staticmethod
    def _tags_param(body: dict[str, Any]) -> dict[str, str]:
        props = body.get("properties")
        if not isinstance(props, dict):
            raise errors.InvalidRequestContent(
                "The request content was invalid and could not be deserialized: 'Required property 'properties' "
                "not found in JSON.'"
            )
        tags = props.get("tags") or {}
        if not isinstance(tags, dict) or not all(isinstance(v, str) for v in tags.values()):
            raise errors.InvalidRequestContent(
                "The request content was invalid and could not be deserialized: 'properties.tags' must be an "
                "object of string values."
            )
        return tags

    def check_tags(self, tags: dict[str, str]) -> None:
        check_tag_count(tags, self.ctx.settings.limits.max_tags)
        bad = [k for k in tags if _TAG_NAME_RESERVED.search(k)]
        if bad:
            raise errors.InvalidTagNameCharacters(
                f"The tag names '{','.join(bad)}' have reserved characters '<,>,%,&,\\,?,/' or control characters."
            )
        long_names = [k for k in tags if len(k) > 512]
        if long_names:
            raise errors.InvalidTagNameLength(
                f"The tag name '{long_names[0][:64]}...' exceeds the maximum length of 512 characters."
            )
        long_values = [k for k, v in tags.items() if len(v) > 256]
        if long_values:
            raise errors.InvalidTagValueLength(
                f"The tag value of '{long_values[0]}' exceeds the maximum length of 256 characters."
            )
