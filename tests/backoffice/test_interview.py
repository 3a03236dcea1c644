"""Interview mode (issue #17) through the real engine on SQLite and PostgreSQL: the clerk
asks the life event's questions, edits the list, types the forms and issues the routed
ticket — the same catalog and issuing as the kiosk; no 個人番号 field is ever asked."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from kiosk.backoffice.engine import interview, views
from kiosk.backoffice.engine.errors import Forbidden, Invalid
from tests.backoffice.conftest import kiosk
from tests.backoffice.test_visits import clerk

ANSWERS = {"employer_insurance": "no", "children": "no", "seniors": "いない",
           "card_holders": "1人", "dog": "no"}
VALUES = {"name": "山田　太郎", "birth_date": "1980-01-02", "sex": "1",
          "address": "大阪府大阪市北区梅田1-1", "new_address": "堺市北区新金岡町5丁1-1",
          "move_date": "2026-03-28", "householder": "山田　太郎", "members": "2"}


def ask_all(bo: Any) -> dict[str, Any]:
    answers: dict[str, str] = {}
    while True:
        step = interview.interview(bo, clerk(), "kita", "tennyu", answers, [], [])
        if step["question"] is None:
            return step
        q = step["question"]
        assert q["key"] in ANSWERS and q["options"]
        answers[q["key"]] = ANSWERS[q["key"]]


def test_the_clerk_asks_one_question_at_a_time_then_gets_the_list(bo: Any) -> None:
    first = interview.interview(bo, clerk(), "kita", "tennyu", {}, [], [])
    assert first["question"]["key"] == "employer_insurance" and not first["procedures"]
    done = ask_all(bo)
    codes = [p["code"] for p in done["procedures"]]
    assert codes[0] == "tennyu" and "kokuho_kanyu" in codes
    assert done["route"][0]["service"] == "moving"
    assert done["guide"] and all(g["place"] in ("here", "other", "online") for g in done["guide"])
    keys = {f["key"] for f in done["fields"]}
    assert {"name", "new_address", "move_date"} <= keys
    assert "my_number" not in keys and all(f["kind"] != "my_number" for f in done["fields"])


def test_an_interview_issues_the_routed_ticket_with_typed_forms(bo: Any) -> None:
    ticket, created = interview.issue(bo, clerk(), "kita", "tennyu", ANSWERS, [], [],
                                      VALUES, "ja", uuid.uuid4().hex, "")
    assert created and ticket["number"].startswith("B-") and ticket["route"]
    assert ticket["forms"][0]["procedure"] == "tennyu"
    assert all("form.pdf?procedure=" in f["url"] for f in ticket["forms"])
    seen = views.get_ticket(bo, clerk(), ticket["id"], "")
    first = seen["applications"][0]
    assert first["procedure"] == "tennyu" and first["identity"] == "typed"
    assert first["values"]["new_address"] == VALUES["new_address"]
    assert first["notes"] == [interview.INTERVIEW_NOTE]


def test_edits_and_bad_input_are_refused_naming_the_field(bo: Any) -> None:
    step = interview.interview(bo, clerk(), "kita", "tennyu", ANSWERS, ["inkan_toroku"],
                               ["kokuho_kanyu"])
    codes = [p["code"] for p in step["procedures"]]
    assert "kokuho_kanyu" not in codes and "inkan_toroku" in codes
    cases = [({"event": "nothing"}, "event"),
             ({"answers": {**ANSWERS, "dog": "maybe"}}, "answers.dog"),
             ({"add": ["no_such_thing"]}, "add[0]"),
             ({"values": {**VALUES, "move_date": "yesterday"}}, "values.move_date"),
             ({"values": {**VALUES, "name": "123456789018"}}, "applications[0].values.name"),
             ({"values": {**VALUES, "unknown": "x"}}, "values.unknown")]
    for change, field in cases:
        args = {"event": "tennyu", "answers": ANSWERS, "add": [], "drop": [],
                "values": VALUES, **change}
        with pytest.raises(Invalid) as err:
            interview.issue(bo, clerk(), "kita", args["event"], args["answers"], args["add"],
                            args["drop"], args["values"], "ja", uuid.uuid4().hex, "")
        assert err.value.details == {"field": field}, (change, err.value)


def test_interview_is_for_the_wards_staff(bo: Any) -> None:
    with pytest.raises(Forbidden):
        interview.interview(bo, clerk("naka"), "kita", "tennyu", {}, [], [])
    with pytest.raises(Forbidden):
        interview.issue(bo, kiosk(bo), "kita", "tennyu", ANSWERS, [], [], VALUES, "ja",
                        uuid.uuid4().hex, "")
