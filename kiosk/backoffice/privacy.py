"""The back-office's own 番号法 guard: no 個人番号 is stored, whatever a client sends.

The kiosk never sends one (the application carries only the masked check, and the outbox
refuses anything that looks like one: kiosk.sync.sealing), but the server does not rely on
its clients: every text it would store — application values, notes, keys — is checked with
`kiosk.domain.my_number.contains_number`, and a hit is refused with 422 naming the field,
never echoing the value.
"""

from __future__ import annotations

from typing import Any

from kiosk.backoffice.engine.errors import invalid
from kiosk.domain.my_number import contains_number, text_where


def refuse_my_number(data: Any, field: str) -> None:
    """422 `my_number_refused` if any text in `data` (nested objects and lists too) holds
    what passes as a 個人番号; `field` names where, e.g. "application.values.name"."""
    where = text_where(data, field, contains_number)
    if where is not None:
        raise invalid(
            "my_number_refused", f"{where} holds what looks like a 個人番号 (12 digits "
            "passing its check digit); the back-office never stores one — remove it "
            "(a my_number field takes only the masked check \"********\" + 4 digits)",
            field=where)
