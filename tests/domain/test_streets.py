"""The ward's street list helps address entry (kiosk.domain.streets): no I/O."""

from __future__ import annotations

import pytest

from kiosk.configfile import load_streets
from kiosk.domain.errors import ConfigError
from kiosk.domain.streets import Street, streets_from_mapping, suggest

KITA = load_streets("kita")


def test_the_shipped_list_loads_per_ward() -> None:
    assert Street("北区王子本町", "きたくおうじほんちょう") in KITA
    assert all(s.name.startswith("中区") for s in load_streets("naka"))
    assert load_streets("nowhere") == ()


def test_suggestions_follow_the_reading_in_hiragana_or_katakana() -> None:
    assert suggest(KITA, "き") == ()                          # one character: too early
    assert [s.name for s in suggest(KITA, "きたくお")] == ["北区王子本町"]
    assert [s.name for s in suggest(KITA, "キタクサ")] == ["北区桜台"]
    assert len(suggest(KITA, "きたく")) == 3                   # one row at the most
    assert suggest(KITA, "北区桜台3－4") == ()                 # picked: the 番地 follows


def test_a_bad_list_names_the_entry() -> None:
    with pytest.raises(ConfigError) as err:
        streets_from_mapping({"kita": [{"name": "北区", "kana": "キタク"}]}, "kita", "s.toml")
    assert err.value.key == "kita[0]"
