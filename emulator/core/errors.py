"""ARM errors, declared moto-style: one class per ARM error code, rendered by one function.

ArmError (status, code, message, target)
├── BadRequest (400)
│   ├── InvalidParameter, PropertyChangeNotAllowed, InvalidRequestContent
│   ├── MissingApiVersionParameter, InvalidApiVersionParameter, NoRegisteredProviderFound
│   ├── InvalidTagNameCharacters, InvalidTagNameLength, InvalidTagValueLength, TooManyTags
│   └── LinkedInvalidPropertyId
├── AuthenticationFailed, InvalidAuthenticationToken, ExpiredAuthenticationToken,
│   InvalidAuthenticationTokenAudience (401)
├── AuthorizationFailed (403)
├── ResourceNotFound, ResourceGroupNotFound, SubscriptionNotFound, ParentResourceNotFound, NotFound,
│   InvalidResourceType (404)
├── Conflict, OperationNotAllowed, CannotDeleteResource (409)
├── RequestEntityTooLarge (413), TooManyRequests (429)
└── InternalServerError (500), ServiceUnavailable (503), GatewayTimeout (504)

TooManyRequests, ServiceUnavailable and GatewayTimeout are what injected faults raise (FAULT_ERRORS).

Rules raise these; the HTTP layer only serializes them with :func:`error_body`.
"""

from __future__ import annotations

from typing import Any, ClassVar


class ArmError(Exception):
    status: ClassVar[int] = 500
    code: ClassVar[str] = "InternalServerError"

    def __init__(self, message: str, *, target: str | None = None, details: list[dict[str, Any]] | None = None):
        super().__init__(message)
        self.message = message
        self.target = target
        self.details = details or []
        self.headers: dict[str, str] = {}

    def body(self) -> dict[str, Any]:
        return error_body(self.code, self.message, target=self.target, details=self.details)


def error_body(
    code: str, message: str, *, target: str | None = None, details: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if target:
        error["target"] = target
    if details:
        error["details"] = details
    return {"error": error}


class BadRequest(ArmError):
    status = 400
    code = "BadRequest"


class InvalidParameter(BadRequest):
    code = "InvalidParameter"


class PropertyChangeNotAllowed(BadRequest):
    code = "PropertyChangeNotAllowed"

    def __init__(self, prop: str):
        super().__init__(f"Changing property '{prop}' is not allowed.", target=prop)


class InvalidRequestContent(BadRequest):
    code = "InvalidRequestContent"


class MissingApiVersionParameter(BadRequest):
    code = "MissingApiVersionParameter"

    def __init__(self) -> None:
        super().__init__("The api-version query parameter (?api-version=) is required for all requests.")


class InvalidApiVersionParameter(BadRequest):
    code = "InvalidApiVersionParameter"


class NoRegisteredProviderFound(BadRequest):
    code = "NoRegisteredProviderFound"


class InvalidTagNameCharacters(BadRequest):
    code = "InvalidTagNameCharacters"


class InvalidTagNameLength(BadRequest):
    code = "InvalidTagNameLength"


class InvalidTagValueLength(BadRequest):
    code = "InvalidTagValueLength"


class TooManyTags(BadRequest):
    code = "TooManyTags"


class LinkedInvalidPropertyId(BadRequest):
    code = "LinkedInvalidPropertyId"


class AuthenticationFailed(ArmError):
    status = 401
    code = "AuthenticationFailed"


class InvalidAuthenticationToken(AuthenticationFailed):
    code = "InvalidAuthenticationToken"


class ExpiredAuthenticationToken(AuthenticationFailed):
    code = "ExpiredAuthenticationToken"


class InvalidAuthenticationTokenAudience(AuthenticationFailed):
    code = "InvalidAuthenticationTokenAudience"


class AuthorizationFailed(ArmError):
    status = 403
    code = "AuthorizationFailed"

    def __init__(self, principal: str, action: str, scope: str):
        super().__init__(
            f"The client '{principal}' with object id '{principal}' does not have authorization to perform action "
            f"'{action}' over scope '{scope}' or the scope is invalid. If access was recently granted, please "
            "refresh your credentials."
        )
        self.action = action
        self.scope = scope

    @classmethod
    def only_caller(cls) -> ArmError:
        err = ArmError.__new__(cls)
        ArmError.__init__(
            err,
            "Only the original caller of an asynchronous operation is allowed to retrieve the results.",
        )
        return err


class ResourceNotFound(ArmError):
    status = 404
    code = "ResourceNotFound"

    def __init__(self, resource_type: str, name: str, resource_group: str | None = None):
        where = f" under resource group '{resource_group}'" if resource_group else ""
        super().__init__(
            f"The Resource '{resource_type}/{name}'{where} was not found. For more details please go to "
            "https://aka.ms/ARMResourceNotFoundFix"
        )


class NotFound(ArmError):
    status = 404
    code = "NotFound"


class ResourceGroupNotFound(ArmError):
    status = 404
    code = "ResourceGroupNotFound"

    def __init__(self, name: str):
        super().__init__(f"Resource group '{name}' could not be found.")


class SubscriptionNotFound(ArmError):
    status = 404
    code = "SubscriptionNotFound"

    def __init__(self, subscription_id: str):
        super().__init__(f"The subscription '{subscription_id}' could not be found.")


class ParentResourceNotFound(ArmError):
    status = 404
    code = "ParentResourceNotFound"

    def __init__(self, parent: str):
        super().__init__(
            f"Can not perform requested operation on nested resource. Parent resource '{parent}' not found."
        )


class InvalidResourceType(ArmError):
    status = 404
    code = "InvalidResourceType"


class Conflict(ArmError):
    status = 409
    code = "Conflict"


class OperationNotAllowed(ArmError):
    status = 409
    code = "OperationNotAllowed"


class CannotDeleteResource(ArmError):
    status = 409
    code = "CannotDeleteResource"


class RequestEntityTooLarge(ArmError):
    status = 413
    code = "RequestEntityTooLarge"


class TooManyRequests(ArmError):
    status = 429
    code = "TooManyRequests"


class InternalServerError(ArmError):
    status = 500
    code = "InternalServerError"


class ServiceUnavailable(ArmError):
    status = 503
    code = "ServiceUnavailable"


class GatewayTimeout(ArmError):
    status = 504
    code = "GatewayTimeout"


FAULT_ERRORS: dict[int, type[ArmError]] = {
    429: TooManyRequests,
    500: InternalServerError,
    503: ServiceUnavailable,
    504: GatewayTimeout,
}
