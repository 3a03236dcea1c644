"""The procedure catalog: the shipped config is valid, and bad config names file + key."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kiosk.configfile import CONFIG_DIR, load_catalog, read_toml
from kiosk.domain.catalog import Catalog, FieldSource
from kiosk.domain.errors import ConfigError

SHIPPED = CONFIG_DIR / "catalog.toml"


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    return read_toml(SHIPPED)


def test_shipped_catalog_loads() -> None:
    catalog = load_catalog()
    assert {"juminhyo", "inkan", "koseki", "shotoku", "tennyu", "tenkyo", "tenshutsu"} <= set(
        catalog.procedures)
    for ward in catalog.wards.values():
        served = {s for c in ward.counters for s in c.services}
        assert served == set(ward.services), f"{ward.code}: every service needs a counter"


def test_my_number_only_where_the_form_carries_it() -> None:
    catalog = load_catalog()
    assert not catalog.procedure("juminhyo").needs_my_number
    assert not catalog.procedure("inkan").needs_my_number
    assert catalog.procedure("kokuho_kanyu").needs_my_number
    for p in catalog.procedures.values():
        assert p.needs_my_number == any(f.source is FieldSource.MY_NUMBER for f in p.fields)


def test_fees() -> None:
    jumin = load_catalog().procedure("juminhyo")
    assert jumin.fee(1) == 300
    assert jumin.fee(3) == 900
    assert jumin.fee(2, "年金の手続き") == 0
    assert load_catalog().procedure("tennyu").fee(1) == 0


def _expect_error(data: dict[str, Any], key: str, words: str) -> None:
    with pytest.raises(ConfigError) as info:
        Catalog.from_mapping(data, file="x/catalog.toml")
    err = info.value
    assert err.file == "x/catalog.toml"
    assert err.key == key, str(err)
    assert words in err.problem, str(err)
    assert str(err).startswith("x/catalog.toml: " + key)


def test_error_names_file_key_and_problem(raw: dict[str, Any]) -> None:
    bad = copy.deepcopy(raw)
    bad["procedures"][1]["fee_yen"] = "300円"
    _expect_error(bad, "procedures[1].fee_yen", "must be an integer")


def test_unknown_service_in_counter(raw: dict[str, Any]) -> None:
    bad = copy.deepcopy(raw)
    bad["wards"][1]["counters"][0]["services"] = ["family"]
    _expect_error(bad, "wards[1].counters[0].services", "not offered")


def test_duplicate_prefix(raw: dict[str, Any]) -> None:
    bad = copy.deepcopy(raw)
    bad["services"][1]["prefix"] = "A"
    _expect_error(bad, "services", "prefix 'A'")


def test_typo_in_key_is_refused(raw: dict[str, Any]) -> None:
    bad = copy.deepcopy(raw)
    bad["procedures"][0]["fee_yn"] = 300
    _expect_error(bad, "procedures[0].fee_yn", "unknown key")


def test_card_cannot_provide_arbitrary_fields(raw: dict[str, Any]) -> None:
    bad = copy.deepcopy(raw)
    bad["procedures"][0]["fields"][3]["source"] = "card"  # copies
    _expect_error(bad, "procedures[0].fields[3].source", "only provides")


def test_bad_hours(raw: dict[str, Any]) -> None:
    bad = copy.deepcopy(raw)
    bad["wards"][0]["opens"] = "8:45"
    _expect_error(bad, "wards[0].opens", "HH:MM")


def test_toml_syntax_error_names_file(tmp_path: Any) -> None:
    p = tmp_path / "catalog.toml"
    p.write_text("[[services]\ncode = 1\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_catalog(p)
    assert info.value.file == str(p)
    assert "line 1" in info.value.problem


def test_opening_hours() -> None:
    from datetime import time
    hours = load_catalog().ward("kita").hours
    assert hours.is_open(0, time(9, 0))
    assert not hours.is_open(0, time(17, 15))
    assert not hours.is_open(5, time(10, 0))
