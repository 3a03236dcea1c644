"""Address entry helped by the ward's own street list (config/streets.toml): the resident
types the start of a town's reading in kana (or its name) and picks the town; then only
the 番地 is left to type. No I/O: the list comes in through the session's settings.

Why a list in config and not a postcode data set: see docs/kiosk.md "Without a card".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kiosk.domain import kana
from kiosk.domain.errors import ConfigError

SHOWN = 3   # suggestions on screen at once (one row of 15 mm buttons)


@dataclass(frozen=True)
class Street:
    name: str    # as written in an address: "北区中央一丁目"
    kana: str    # its reading in hiragana: "きたくちゅうおういっちょうめ"


def suggest(streets: tuple[Street, ...], typed: str, limit: int = SHOWN) -> tuple[Street, ...]:
    """The streets whose reading (or name) starts with what is typed; none before the
    second character, and none once a street's whole name is there."""
    text = kana.hiragana(typed.strip("\u3000 "))
    if len(text) < 2 or any(typed.startswith(s.name) for s in streets):
        return ()
    return tuple(s for s in streets
                 if s.kana.startswith(text) or s.name.startswith(typed))[:limit]


def streets_from_mapping(data: Mapping[str, Any], ward: str, file: str) -> tuple[Street, ...]:
    """One ward's list from config/streets.toml (`[[<ward>]] name = "…", kana = "…"`)."""
    rows = data.get(ward, [])
    if not isinstance(rows, list):
        raise ConfigError(file, ward, "must be a list of tables [[" + ward + "]]")
    out = []
    for i, row in enumerate(rows):
        name, reading = (row.get("name"), row.get("kana")) if isinstance(row, dict) else (None,
                                                                                         None)
        if not (isinstance(name, str) and name and isinstance(reading, str) and reading
                and all("ぁ" <= c <= "ゖ" or c == "ー" for c in reading)):
            raise ConfigError(file, f"{ward}[{i}]", "needs name and kana (hiragana only)")
        out.append(Street(name, reading))
    return tuple(out)
