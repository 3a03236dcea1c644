"""Helpers for the card tests; the pcscd / stand-in card fixtures are in tests/support/pcsc.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.card.authenticity import TrustedCa
from kiosk.card.pcsc import PcscCardReader

REPO = Path(__file__).resolve().parents[2]
TEST_CA = REPO / "config" / "cards" / "test-ca.pem"


@pytest.fixture(scope="session")
def test_ca() -> TrustedCa:
    return TrustedCa.from_file(TEST_CA)


@pytest.fixture()
def reader(card_slot, test_ca) -> Iterator[PcscCardReader]:  # type: ignore[no-untyped-def]
    r = PcscCardReader(card_slot.reader, [test_ca])
    try:
        yield r
    finally:
        r.close()
