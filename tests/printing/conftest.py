from __future__ import annotations

from datetime import datetime

import pytest

from kiosk.printing.slip import TicketSlip

STATUS_URL = "https://kita.example.city.jp/q/A-012?t=7f3a9c"


def make_slip(**changes: object) -> TicketSlip:
    values: dict[str, object] = {
        "ward_name": "北区役所", "procedure_name": "住民票の写し", "number": "A-012",
        "counter_group": "1・2番窓口", "issued_at": datetime(2026, 11, 22, 10, 15),
        "people_ahead": 3, "wait_minutes": 12, "status_url": STATUS_URL, "language": "ja"}
    values.update(changes)
    return TicketSlip(**values)  # type: ignore[arg-type]


@pytest.fixture
def slip() -> TicketSlip:
    return make_slip()
