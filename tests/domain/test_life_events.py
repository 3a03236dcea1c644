"""The life-event catalog: the shipped bundles, derivation, route, guide, and every
validation error naming file, key and problem (like config/catalog.toml)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kiosk.configfile import CONFIG_DIR, read_toml
from kiosk.domain.catalog import Catalog
from kiosk.domain.errors import ConfigError
from kiosk.domain.life_events import LifeEventCatalog, Place, Stage, plan

SHIPPED = CONFIG_DIR / "life_events.toml"
TENNYU_FAMILY = {"employer_insurance": "no", "children": "yes", "school_children": "yes",
                 "seniors": "いない", "card_holders": "2人以上", "dog": "yes"}


@pytest.fixture
def raw() -> dict[str, Any]:
    return read_toml(SHIPPED)


def test_shipped_catalog_has_the_five_events(events: LifeEventCatalog) -> None:
    assert {"tennyu", "tenkyo", "tenshutsu", "shussei", "okuyami"} <= set(events.events)
    assert events.route_order[0] == "moving"  # 住民記録 first
    for event in events.events.values():
        assert event.items and all(i.bring is not None for i in event.items)


def test_tennyu_family_on_kokuho(events: LifeEventCatalog, catalog: Catalog) -> None:
    p = plan(events.event("tennyu"), TENNYU_FAMILY)
    assert p.procedures == ("tennyu", "card_address", "kokuho_kanyu", "jidoteate",
                            "kodomo_iryo")
    assert p.route(catalog) == (
        Stage("moving", ("tennyu", "card_address")),
        Stage("insurance", ("kokuho_kanyu", "jidoteate")),
        Stage("children", ("kodomo_iryo",)))
    # two items for 子ども医療費助成, preset by the insurance answer: one applies
    assert p.item_for("kodomo_iryo").code == "kodomo_iryo_kokuho"  # type: ignore[union-attr]
    assert "kodomo_iryo" not in [i.code for i in p.available()]
    guide = {g.name: g for g in p.guide}
    assert len([g for g in p.guide if g.procedure == "kodomo_iryo"]) == 1
    assert guide["小中学校の転入学"].place is Place.OTHER
    assert guide["小中学校の転入学"].office == "教育委員会（学務課）"
    assert guide["犬の登録の変更"].bring == ("犬の鑑札", "狂犬病予防注射済票")
    assert guide["水道の使用開始"].place is Place.ONLINE
    assert guide["転入届"].to_dict() == {
        "name": "転入届", "place": "here", "office": None,
        "bring": ["転出証明書（マイナンバーカードで転出した方は不要）", "本人確認書類"],
        "url": None}


def test_tennyu_single_employee(events: LifeEventCatalog) -> None:
    p = plan(events.event("tennyu"), {"employer_insurance": "yes", "children": "no",
                                      "seniors": "いない", "card_holders": "0人", "dog": "no"})
    assert p.procedures == ("tennyu",)
    assert [g.name for g in p.guide] == ["転入届", "水道の使用開始"]


def test_seniors_and_okuyami_rules(events: LifeEventCatalog) -> None:
    p = plan(events.event("tennyu"), {**TENNYU_FAMILY, "seniors": "75歳以上の方がいる"})
    assert {"kaigo", "kouki"} <= set(p.procedures)
    ok = events.event("okuyami")
    # sosaihi: on 国保 OR 75+ (a list of tables is "any")
    late75 = plan(ok, {"householder": "no", "kokuho": "no", "age": "75歳以上",
                       "pension": "yes", "property": "yes"})
    assert late75.procedures == ("kouki", "sosaihi", "kaigo")
    assert {g.office for g in late75.guide} >= {"年金事務所", "法務局", "税務署"}
    young = plan(ok, {"householder": "yes", "kokuho": "yes", "age": "65歳未満",
                      "pension": "no", "property": "no"})
    assert young.procedures == ("setainushi_henko", "kokuho_dattai", "sosaihi")


def test_questions_follow_earlier_answers(events: LifeEventCatalog) -> None:
    e = events.event("tennyu")
    assert e.next_question({}).key == "employer_insurance"  # type: ignore[union-attr]
    # 小中学生はいますか is only asked when there are children
    assert "school_children" not in [q.key for q in e.asked({"children": "no"})]
    assert "school_children" in [q.key for q in e.asked({"children": "yes"})]


def test_plan_is_editable(events: LifeEventCatalog, catalog: Catalog) -> None:
    p = plan(events.event("tennyu"), TENNYU_FAMILY)
    assert "inkan_toroku" in [i.code for i in p.available()]  # `when = false`: add-able
    p2 = p.add("inkan_toroku").drop("jidoteate").add("juminhyo", catalog)
    assert p2.procedures == ("tennyu", "card_address", "kokuho_kanyu", "kodomo_iryo",
                             "inkan_toroku", "juminhyo")
    assert p.add("kokumin_nenkin").procedures[3] == "kokumin_nenkin"  # the event's order
    assert p2.drop("juminhyo").procedures[-1] == "inkan_toroku"
    with pytest.raises(KeyError):
        p.add("no_such_thing", catalog)
    with pytest.raises(KeyError):
        p.drop("shussei")


def test_procedures_not_offered_go_to_the_guide(events: LifeEventCatalog,
                                                catalog: Catalog) -> None:
    offered = {p.code for p in catalog.procedures_in("naka")} - {"kodomo_iryo"}
    p = plan(events.event("tennyu"), TENNYU_FAMILY, offered)
    assert "kodomo_iryo" not in p.procedures
    moved = next(g for g in p.guide if g.procedure == "kodomo_iryo")
    assert moved.place is Place.OTHER and moved.office


# --- validation errors: each names the file, the key and the problem ---------------------

def _expect(data: dict[str, Any], key: str, words: str, catalog: Catalog) -> None:
    with pytest.raises(ConfigError) as info:
        LifeEventCatalog.from_dict(data, catalog, file="x/life_events.toml")
    err = info.value
    assert err.file == "x/life_events.toml"
    assert err.key == key, str(err)
    assert words in err.problem, str(err)
    assert str(err).startswith(f"x/life_events.toml: {key}: ")


def _q(raw: dict[str, Any], e: int = 0, q: int = 0) -> dict[str, Any]:
    return raw["events"][e]["questions"][q]  # type: ignore[no-any-return]


def _i(raw: dict[str, Any], e: int = 0, i: int = 0) -> dict[str, Any]:
    return raw["events"][e]["items"][i]  # type: ignore[no-any-return]


CASES: list[tuple[str, Any, str, str]] = [
    # (what, change(raw), key, words)
    ("unknown top key", lambda r: r.update(routes=[]), "routes", "unknown key"),
    ("route missing", lambda r: r.pop("route"), "route", "is required"),
    ("route service", lambda r: r["route"].append("bakery"), "route", "unknown service"),
    ("route twice", lambda r: r["route"].append("moving"), "route", "twice"),
    ("no events", lambda r: r.update(events=[]), "events", "at least one"),
    ("event code twice", lambda r: r["events"].append(copy.deepcopy(r["events"][0])),
     "events", "appears twice"),
    ("event code", lambda r: r["events"][0].update(code="Tennyu"), "events[0].code",
     "lower-case"),
    ("event name", lambda r: r["events"][0].pop("name"), "events[0].name", "is required"),
    ("event key", lambda r: r["events"][0].update(colour="red"), "events[0].colour",
     "unknown key"),
    ("no items", lambda r: r["events"][0].update(items=[]), "events[0].items",
     "at least one"),
    ("question kind", lambda r: _q(r).update(kind="maybe"), "events[0].questions[0].kind",
     "must be one of"),
    ("choice without choices", lambda r: _q(r, q=3).pop("choices"),
     "events[0].questions[3].choices", "at least two"),
    ("yesno with choices", lambda r: _q(r).update(choices=["a", "b"]),
     "events[0].questions[0].choices", "no choices"),
    ("choice twice", lambda r: _q(r, q=3).update(choices=["a", "a"]),
     "events[0].questions[3].choices", "twice"),
    ("question key twice", lambda r: _q(r, q=1).update(key="employer_insurance"),
     "events[0].questions", "appears twice"),
    ("question key", lambda r: _q(r).update(key="会社"), "events[0].questions[0].key",
     "lower-case"),
    ("question text", lambda r: _q(r).update(text=""), "events[0].questions[0].text",
     "non-empty"),
    ("rule on a later question", lambda r: _q(r, q=2).update(when={"dog": "yes"}),
     "events[0].questions[2].when.dog", "no earlier question"),
    ("rule answer", lambda r: _i(r, i=2).update(when={"employer_insurance": "maybe"}),
     "events[0].items[2].when.employer_insurance", "no answer of"),
    ("rule answer type", lambda r: _i(r, i=2).update(when={"employer_insurance": 1}),
     "events[0].items[2].when.employer_insurance", "must be an answer"),
    ("rule shape", lambda r: _i(r, i=2).update(when="yes"), "events[0].items[2].when",
     "must be a table"),
    ("rule empty list", lambda r: _i(r, i=2).update(when=[]), "events[0].items[2].when",
     "at least one condition"),
    ("rule list member", lambda r: _i(r, i=2).update(when=[{}]),
     "events[0].items[2].when[0]", "must be a table"),
    ("item place", lambda r: _i(r).update(place="moon"), "events[0].items[0].place",
     "must be one of"),
    ("here without procedure", lambda r: _i(r).pop("procedure"),
     "events[0].items[0].procedure", "required for place here"),
    ("other without office", lambda r: _i(r, i=10).pop("office"),
     "events[0].items[10].office", "required for place other"),
    ("office on a here item", lambda r: _i(r).update(office="教育委員会"),
     "events[0].items[0].office", "only for it"),
    ("online without url", lambda r: _i(r, i=12).pop("portal"),
     "events[0].items[12].url", "needs a url or a portal"),
    ("url off line", lambda r: _i(r, i=10).update(url="https://example.jp/"),
     "events[0].items[10].url", "only an online item"),
    ("url scheme", lambda r: r["events"][2]["items"][1].update(url="http://myna.go.jp/"),
     "events[2].items[1].url", "https://"),
    ("unknown procedure", lambda r: _i(r).update(procedure="tennyu2"),
     "events[0].items[0].procedure", "unknown procedure"),
    ("other without name", lambda r: _i(r, i=10).pop("name"), "events[0].items[10].name",
     "required for an item done elsewhere"),
    ("other without code", lambda r: _i(r, i=10).pop("code"), "events[0].items[10].code",
     "is required"),
    ("item twice", lambda r: r["events"][0]["items"].append(_i(r)),
     "events[0].items[14].code", "appears twice"),
    ("item key", lambda r: _i(r).update(colour="red"), "events[0].items[0].colour",
     "unknown key"),
    ("bring", lambda r: _i(r).update(bring="印鑑"), "events[0].items[0].bring",
     "list of strings"),
    ("values on other", lambda r: _i(r, i=10).update(values={"a": "b"}),
     "events[0].items[10].values", "only an item done here"),
    ("values shape", lambda r: _i(r, i=2).update(values="転入"),
     "events[0].items[2].values", "must be a table"),
    ("values field", lambda r: _i(r, i=2).update(values={"colour": "red"}),
     "events[0].items[2].values.colour", "no field of kokuho_kanyu"),
    ("values choice", lambda r: _i(r, i=2).update(values={"reason": "引っ越し"}),
     "events[0].items[2].values.reason", "not among the choices"),
    ("values count", lambda r: _i(r, i=2).update(values={"members": 0}),
     "events[0].items[2].values.members", "whole number"),
    ("values kind", lambda r: _i(r, i=2).update(values={"birth_date": "2000-01-01"}),
     "events[0].items[2].values.birth_date", "cannot be preset"),
    ("values text", lambda r: _i(r, i=2).update(values={"reason": 3}),
     "events[0].items[2].values.reason", "must be text"),
    ("copy target", lambda r: _i(r, i=2).update(copy={"colour": "new_address"}),
     "events[0].items[2].copy.colour", "no field of kokuho_kanyu"),
    ("copy source type", lambda r: _i(r, i=2).update(copy={"address": 1}),
     "events[0].items[2].copy.address", "must name a field"),
    ("copy source", lambda r: _i(r, i=2).update(copy={"address": "move_date"}),
     "events[0].items[2].copy.address", "no address field"),
    ("prefill source", lambda r: _i(r).update(prefill={"householder": "children"}),
     "events[0].items[0].prefill.householder", "no text field"),
]


@pytest.mark.parametrize(("what", "change", "key", "words"), CASES,
                         ids=[c[0] for c in CASES])
def test_every_validation_error(raw: dict[str, Any], catalog: Catalog, what: str,
                                change: Any, key: str, words: str) -> None:
    change(raw)
    _expect(raw, key, words, catalog)


def test_top_level_must_be_a_table(catalog: Catalog) -> None:
    _expect([], "(top level)", "must be a table", catalog)  # type: ignore[arg-type]
