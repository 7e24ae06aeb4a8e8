"""ARM is reached with the managed identity only: no environment secret, developer sign-in or broker account is
ever in the credential chain, whatever the app settings or AZURE_TOKEN_CREDENTIALS say."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from activities import _arm

CLIENT_ID = "00000000-0000-0000-0000-00000000a99a"


@pytest.fixture
def fresh_credential(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The credential and settings are cached per process: build them from this test's environment only."""
    monkeypatch.setenv("AZURE_CLIENT_ID", CLIENT_ID)
    _arm.settings.cache_clear()
    _arm.credential.cache_clear()
    yield
    _arm.settings.cache_clear()
    _arm.credential.cache_clear()


def chain() -> list[str]:
    return [type(c).__name__ for c in _arm.credential().credentials]  # type: ignore[attr-defined]


@pytest.mark.usefixtures("fresh_credential")
@pytest.mark.parametrize("token_credentials", ["", "dev", "prod", "environmentcredential", "azureclicredential"])
def test_only_the_managed_identity_is_in_the_chain(monkeypatch: pytest.MonkeyPatch, token_credentials: str) -> None:
    # Everything another credential would pick up: a service principal secret, a workload identity, a chosen chain.
    monkeypatch.setenv("AZURE_TENANT_ID", "11111111-1111-4111-8111-111111111111")
    monkeypatch.setenv("AZURE_CLIENT_SECRET", "a-stray-secret")
    monkeypatch.setenv("AZURE_FEDERATED_TOKEN_FILE", "/tmp/token")
    monkeypatch.setenv("AZURE_USERNAME", "dev@example.com")
    monkeypatch.setenv("AZURE_TOKEN_CREDENTIALS", token_credentials)
    assert chain() == ["ManagedIdentityCredential"]
