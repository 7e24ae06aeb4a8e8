"""The Durable webhook URLs the extension hands out: binding JSON (§5.1) and check-status payloads (§5.3)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import quote_plus, urlsplit

WEBHOOK_PATH = "/runtime/webhooks/durabletask"
RPC_PATH = "/durabletask/"


@dataclass(frozen=True)
class DurableUrls:
    origin: str  # http://127.0.0.1:7071
    hub: str
    connection: str
    code: str  # durabletask_extension system key, as in Azure
    rpc_origin: str  # the local RPC listener (loopback, its own port), like the extension's LocalHttpListener

    @property
    def query(self) -> str:
        return f"taskHub={quote_plus(self.hub)}&connection={quote_plus(self.connection)}&code={quote_plus(self.code)}"

    def management(self, instance_id: str, *, origin: str | None = None) -> dict[str, str]:
        """``HttpManagementPayload`` for ``instance_id`` (``origin`` of the request, like the extension)."""
        base = f"{origin or self.origin}{WEBHOOK_PATH}/instances/{quote_plus(instance_id)}"
        q = self.query
        return {
            "id": instance_id,
            "statusQueryGetUri": f"{base}?{q}",
            "sendEventPostUri": f"{base}/raiseEvent/{{eventName}}?{q}",
            "terminatePostUri": f"{base}/terminate?reason={{text}}&{q}",
            "rewindPostUri": f"{base}/rewind?reason={{text}}&{q}",
            "purgeHistoryDeleteUri": f"{base}?{q}",
            "restartPostUri": f"{base}/restart?{q}",
            "suspendPostUri": f"{base}/suspend?reason={{text}}&{q}",
            "resumePostUri": f"{base}/resume?reason={{text}}&{q}",
        }

    def check_status(self, instance_id: str, *, origin: str | None = None) -> dict[str, str]:
        """The 202 body of a start: the management URLs without the rewind one (HttpApiHandler)."""
        payload = self.management(instance_id, origin=origin)
        del payload["rewindPostUri"]
        return payload

    def binding_json(self) -> str:
        """The durable client input binding value (contract §5.1), with ``code=`` as in Azure."""
        base = f"{self.origin}{WEBHOOK_PATH}"
        create = f"{base}/orchestrators/{{functionName}}[/{{instanceId}}]"
        return json.dumps(
            {
                "taskHubName": self.hub,
                "connectionName": None,
                "creationUrls": {
                    "createNewInstancePostUri": f"{create}?code={quote_plus(self.code)}",
                    "createAndWaitOnNewInstancePostUri": (
                        f"{create}?timeout={{timeoutInSeconds}}&pollingInterval={{intervalInSeconds}}"
                        f"&code={quote_plus(self.code)}"
                    ),
                },
                "managementUrls": self.management("INSTANCEID"),
                "baseUrl": base,
                "requiredQueryStringParameters": f"code={quote_plus(self.code)}",
                "rpcBaseUrl": f"{self.rpc_origin}{RPC_PATH}",
                "httpBaseUrl": None,
            }
        )


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
