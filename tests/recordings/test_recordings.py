"""Recorded Azure traffic is the oracle: every interaction of the vendored Azure CLI recordings that touches an
emulated resource is replayed against the emulator on its default settings and must answer as Azure did, or be
on the allow-list with the reason Azure's behaviour is not reproduced."""

from __future__ import annotations

import pytest

from tests.recordings import cassette
from tests.recordings.conftest import REPORTS
from tests.recordings.replay import Replayer


@pytest.mark.parametrize("name", cassette.names())
def test_emulator_answers_as_azure_did(replayer: Replayer, name: str) -> None:
    report = replayer.run(cassette.load(name))
    REPORTS.append(report)
    differing = [o.line() for o in report.outcomes if o.verdict == "differ"]
    stale = [f"{sorted(e.interactions)} {e.reason}" for e in replayer.allow.unused(name)]
    assert report.replayed > 0, "nothing of this recording touches an emulated resource"
    assert not differing, f"{len(differing)} interactions differ from Azure:\n" + "\n".join(differing)
    assert not stale, "allow-list entries that explain no difference any more:\n" + "\n".join(stale)
