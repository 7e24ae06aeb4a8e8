"""Managed identity (App Service protocol, api-version 2019-08-01) and bearer-token checks for ARM calls.

Tokens are JWTs signed HS256 with a per-state secret; they carry ``oid``, ``appid``, ``tid``, ``aud`` and ``exp`` like
Entra ID access tokens. Token lifetimes use real time (the SDK caches tokens by wall time), not the virtual clock.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt

from emulator.core import errors

TENANT_ID = "72f988bf-0000-4000-8000-00000000e0e0"
SYSTEM_CLIENT_ID = "5c6f1a9e-0000-4000-8000-000000000001"
TOKEN_LIFETIME_SECONDS = 24 * 3600
_NS = uuid.UUID("0b2f4b52-8e4e-4c1c-9c0a-6f1d2b3c4d5e")
ARM_AUDIENCES = ("https://management.azure.com/", "https://management.core.windows.net/")


@dataclass(frozen=True)
class Principal:
    object_id: str
    client_id: str
    claims: dict[str, Any]


def principal_id_for(client_id: str) -> str:
    """A stable object ID per client ID, so RBAC and event claims are predictable."""
    return str(uuid.uuid5(_NS, client_id.lower()))


def _aud(resource: str) -> str:
    return resource if resource.endswith("/") else resource + "/"


def issue_token(key: str, resource: str, client_id: str | None) -> dict[str, Any]:
    """The App Service token response: access_token, expires_on (epoch seconds as a string), resource, token_type."""
    cid = client_id or SYSTEM_CLIENT_ID
    now = int(time.time())
    claims = {
        "aud": _aud(resource),
        "iss": f"https://sts.windows.net/{TENANT_ID}/",
        "iat": now,
        "nbf": now,
        "exp": now + TOKEN_LIFETIME_SECONDS,
        "oid": principal_id_for(cid),
        "sub": principal_id_for(cid),
        "appid": cid,
        "appidacr": "2",
        "idtyp": "app",
        "tid": TENANT_ID,
        "ver": "1.0",
        "uti": uuid.uuid4().hex,
    }
    token = jwt.encode(claims, key, algorithm="HS256")
    return {
        "access_token": token,
        "expires_on": str(claims["exp"]),
        "resource": resource,
        "token_type": "Bearer",
        "client_id": cid,
    }


def www_authenticate(description: str) -> str:
    return (
        f'Bearer authorization_uri="https://login.windows.net/{TENANT_ID}", error="invalid_token", '
        f'error_description="{description}"'
    )


def _auth_error(cls: type[errors.ArmError], message: str, description: str) -> errors.ArmError:
    err = cls(message)
    err.headers["WWW-Authenticate"] = www_authenticate(description)
    return err


_verified: dict[tuple[str, str], dict[str, Any]] = {}  # (key, token) -> claims: SDKs reuse one token for hours


def _decode(key: str, token: str) -> dict[str, Any]:
    cached = _verified.get((key, token))
    if cached is not None and cached.get("exp", 0) > time.time():
        return cached
    claims = jwt.decode(token, key, algorithms=["HS256"], options={"verify_aud": False})
    if len(_verified) > 1000:
        _verified.clear()
    _verified[(key, token)] = claims
    return claims


def authenticate(key: str, authorization: str | None, audience: str) -> Principal:
    """Validate ``Authorization: Bearer <jwt>`` as ARM does, or raise the 401 ARM gives."""
    if not authorization:
        raise _auth_error(
            errors.AuthenticationFailed,
            "Authentication failed. The 'Authorization' header is missing.",
            "The authentication failed because of missing 'Authorization' header.",
        )
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise _auth_error(
            errors.InvalidAuthenticationToken,
            "Authentication failed. The 'Authorization' header is provided in an invalid format.",
            "The authentication failed because of invalid 'Authorization' header format.",
        )
    try:
        claims = _decode(key, token)
    except jwt.ExpiredSignatureError:
        exp = jwt.decode(token, options={"verify_signature": False}).get("exp", 0)
        raise _auth_error(
            errors.ExpiredAuthenticationToken,
            f"The access token expiry UTC time '{time.strftime('%m/%d/%Y %H:%M:%S', time.gmtime(exp))}' is earlier "
            f"than current UTC time '{time.strftime('%m/%d/%Y %H:%M:%S', time.gmtime())}'.",
            "The access token has expired.",
        ) from None
    except jwt.InvalidTokenError:
        raise _auth_error(
            errors.InvalidAuthenticationToken,
            "The access token is invalid.",
            "The access token is invalid.",
        ) from None
    allowed = {_aud(audience), *ARM_AUDIENCES} if audience in ARM_AUDIENCES else {_aud(audience)}
    if _aud(str(claims.get("aud", ""))) not in allowed:
        raise _auth_error(
            errors.InvalidAuthenticationTokenAudience,
            f"The access token has been obtained for wrong audience or resource '{claims.get('aud')}'. It should "
            f"exactly match with one of the allowed audiences {','.join(repr(a) for a in sorted(allowed))}.",
            "The access token has been obtained for wrong audience or resource.",
        )
    return Principal(object_id=str(claims["oid"]), client_id=str(claims.get("appid", "")), claims=claims)
