"""A routed request as it arrives (contract-17 wire format): what the kiosk sends parses
back; every wrong field is refused with its key."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from devtools.life_script import TENNYU_THREE, run
from kiosk.domain.catalog import Catalog
from kiosk.domain.life_events import LifeEventCatalog
from kiosk.domain.routed import RoutedError, parse_routed
from kiosk.domain.session import Session, SessionSettings


@pytest.fixture(scope="module")
def wire(catalog: Catalog, events: LifeEventCatalog) -> dict[str, Any]:
    s = Session(catalog, "kita", SessionSettings(), 0.0, life_events=events)
    run(s, TENNYU_THREE)
    req = s.routed_request()
    assert req is not None
    # through JSON, as on the wire
    return json.loads(json.dumps(req.to_dict(), ensure_ascii=False))  # type: ignore[no-any-return]


def test_what_the_kiosk_sends_parses_back(wire: dict[str, Any], catalog: Catalog) -> None:
    parsed = parse_routed(wire, catalog, catalog.ward("kita"))
    assert parsed.to_dict() == wire
    assert [a.procedure for a in parsed.applications] == ["tennyu", "card_address",
                                                          "kokuho_kanyu"]


CASES: list[tuple[str, Any, str, str]] = [
    ("no event", lambda w: w.pop("life_event"), "life_event", "code"),
    ("no route", lambda w: w.update(route=[]), "route", "non-empty"),
    ("route too long", lambda w: w.update(route=w["route"] * 7), "route", "more than"),
    ("stage shape", lambda w: w["route"][0].update(counter=3), "route[0]", "must be"),
    ("unknown service", lambda w: w["route"][1].update(service="bakery"),
     "route[1].service", "no service"),
    ("empty stage", lambda w: w["route"][1].update(procedures=[]), "route[1].procedures",
     "non-empty"),
    ("unknown procedure", lambda w: w["route"][1]["procedures"].append("cake"),
     "route[1].procedures[1]", "no procedure"),
    ("procedure of another service", lambda w: w["route"][1]["procedures"].append("tenkyo"),
     "route[1].procedures[1]", "belongs to service"),
    ("procedure twice", lambda w: w["route"][0]["procedures"].append("tennyu"),
     "route[0].procedures[2]", "twice"),
    ("first stage", lambda w: w.update(service="insurance"), "service", "first stage"),
    ("first procedure", lambda w: w.update(procedure="card_address"), "procedure",
     "first stage"),
    ("applications shape", lambda w: w.update(applications={}), "applications",
     "must be a list"),
    ("application of no stage", lambda w: w["applications"][0].update(procedure="juminhyo"),
     "applications[0].procedure", "procedure of the route"),
    ("application twice", lambda w: w["applications"].append(w["applications"][0]),
     "applications[3].procedure", "two applications"),
    ("application missing", lambda w: w["applications"].pop(), "applications",
     "no application for kokuho_kanyu"),
    ("bad value", lambda w: w["applications"][2]["values"].update(members=0),
     "applications[2].members", "between"),
    ("the number itself", lambda w: w["applications"][2]["values"].update(
        my_number="123456789018"), "applications[2].my_number", "never the number"),
    ("guide shape", lambda w: w.update(guide={}), "guide", "list"),
    ("guide keys", lambda w: w["guide"][0].update(resident="山田"), "guide[0]", "exactly"),
    ("guide place", lambda w: w["guide"][0].update(place="moon"), "guide[0].place",
     "here, other or online"),
    ("guide name", lambda w: w["guide"][0].update(name=""), "guide[0].name", "text of 1"),
    ("guide bring", lambda w: w["guide"][0].update(bring="印鑑"), "guide[0].bring",
     "list of texts"),
    ("guide bring text", lambda w: w["guide"][0].update(bring=["x" * 201]),
     "guide[0].bring[0]", "text of 1"),
    ("guide url", lambda w: w["guide"][0].update(url=3), "guide[0].url", "text of 1"),
]


@pytest.mark.parametrize(("what", "change", "key", "words"), CASES, ids=[c[0] for c in CASES])
def test_every_wrong_field_is_named(wire: dict[str, Any], catalog: Catalog, what: str,
                                    change: Any, key: str, words: str) -> None:
    bad = copy.deepcopy(wire)
    change(bad)
    with pytest.raises(RoutedError) as info:
        parse_routed(bad, catalog, catalog.ward("kita"))
    assert info.value.key == key, str(info.value)
    assert words in info.value.problem, str(info.value)


def test_a_service_the_ward_does_not_offer(wire: dict[str, Any], catalog: Catalog) -> None:
    import dataclasses
    ward = dataclasses.replace(catalog.ward("naka"), services=("moving", "certificates"))
    with pytest.raises(RoutedError) as info:
        parse_routed(wire, catalog, ward)
    assert info.value.key == "route[1].service" and "does not offer" in info.value.problem
