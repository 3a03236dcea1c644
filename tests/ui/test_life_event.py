"""A life-event visit (転入) on the real Kivy app, touched through the real widgets, with
the in-process stand-in card, printer and ticket desk: one question per screen, the
derived list edited, ONE card read, shared fields typed once, one review, one routed
ticket and its guide slip; the step indicator on every screen; accessibility of the new
screens (15 mm targets, low reach, 7:1 contrast). tests/ui/test_integration.py runs a
visit like it against the real card stack, back-office and printer."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from devtools.standins import DEMO_HOLDER, StandInCard
from kiosk.domain.session import Step
from tests.support.screen import buttons, text_contrast
from tests.ui.test_visits import finish, place, type_pin

pytestmark = pytest.mark.kivy

# 転入 of a resident on 国保 with a card, no children, no seniors, no dog: 転入届,
# マイナンバーカードの住所変更, 国民健康保険の加入 (devtools/life_script.TENNYU_THREE).
ANSWERS = ("no", "no", "いない", "1人", "no")


def indicator(k: Any) -> tuple[str, str]:
    steps = k.app.root.ids.steps
    return steps.where, steps.left


def shown(w: Any) -> bool:
    """Inside the visible part of its scrolling list (if it is in one)."""
    from kivy.uix.scrollview import ScrollView
    parent = w.parent
    while parent is not None and not isinstance(parent, ScrollView):
        parent = None if parent.parent is parent else parent.parent   # the window: itself
    if parent is None:
        return True
    _, y = w.to_window(w.x, w.y)
    _, py = parent.to_window(parent.x, parent.y)
    return py <= y and y + w.height <= py + parent.height


def tap_in_list(k: Any, *action: str) -> None:
    """Scroll the plan's list to the button (as a finger would), then touch it."""
    rows = k.app.root.ids.sm.current_screen.ids.rows
    rows.parent.scroll_to(k.h.find(*action), animate=False)
    k.h.settle()
    k.tap(*action)


def to_plan(k: Any, seen: list[tuple[Step, str, str]] | None = None) -> None:
    def note() -> None:
        if seen is not None:
            seen.append((k.s.step, *indicator(k)))
    k.tap("start")
    note()
    k.tap("choose_life_events")
    assert k.s.step is Step.EVENT
    note()
    k.tap("choose_event", "tennyu")
    for answer in ANSWERS:
        assert k.s.step is Step.QUESTION
        note()
        k.tap("answer", answer)
    assert k.s.step is Step.PLAN
    note()


def test_tennyu_with_three_procedures_one_card_read_one_routed_ticket(kiosk: Any) -> None:
    k = kiosk
    seen: list[tuple[Step, str, str]] = []
    k.tap("toggle", "voice")
    to_plan(k, seen)
    labels = k.labels()
    for name in ("転入届", "マイナンバーカードの住所変更", "国民健康保険の加入", "水道の使用開始"):
        assert any(name in t for t in labels), name
    assert "この庁舎での手続き：3件" in labels
    # the list is editable: add an item the answers did not call for, then drop it
    tap_in_list(k, "add_item", "license")
    assert "license" in k.s.visit.plan.chosen
    tap_in_list(k, "drop_item", "license")
    assert "license" not in k.s.visit.plan.chosen
    k.tap("accept_plan")
    assert k.s.step is Step.IDENTITY
    seen.append((k.s.step, *indicator(k)))
    k.tap("choose_card")
    card = place(k, StandInCard())
    assert k.s.step is Step.PIN
    seen.append((k.s.step, *indicator(k)))
    type_pin(k, "1234")
    # the fields no card holds, each asked once for all three forms
    asked = []
    while k.s.step is Step.ENTRY:
        seen.append((k.s.step, *indicator(k)))
        f = k.s.entry_field()
        asked.append(f.key)
        if f.kind.value == "date":
            k.tap("entry_done", date.today().isoformat())   # the "today" button
        else:
            k.h.keys("きたく")
            k.tap("entry_done")
    assert len(asked) == len(set(asked)) and "new_address" in asked
    assert k.s.step is Step.CONFIRM
    seen.append((k.s.step, *indicator(k)))
    review = "\n".join(k.labels())
    for name in ("転入届", "マイナンバーカードの住所変更", "国民健康保険の加入"):
        assert name in review                          # ONE review of every form
    assert DEMO_HOLDER["name"] in k.labels()
    k.tap("confirm")
    if k.s.step is Step.PAYMENT:
        k.tap("choose_payment", "counter")
    assert k.s.step is Step.TICKET, k.s.notice
    seen.append((k.s.step, *indicator(k)))
    assert card.reads == 1 and card.verify_calls == 1     # one card read, PIN once
    (request,) = k.desk.visits
    assert [a.procedure for a in request.applications] == [
        "tennyu", "card_address", "kokuho_kanyu"]
    assert [s.service for s in request.route] == ["moving", "insurance"]
    assert all(a.values["name"] == DEMO_HOLDER["name"] for a in request.applications)
    number = k.s.ticket.number
    assert number.startswith("B-")                        # the first stage's letter
    assert k.printer.printed == [number, f"{number} 案内票"]
    route = k.app.root.ids.sm.current_screen.ids.route.text
    assert route.index("1. 転入・転居・転出 B") < route.index("2. 保険・年金・手当 D")
    # the step indicator: on every screen, counting up, saying what is left
    assert all(where.startswith("ステップ ") and left for _, where, left in seen), seen
    numbers = [int(where.split()[1].split("/")[0]) for _, where, _ in seen]
    assert numbers == sorted(numbers) and numbers[0] == 1
    assert seen[-1][2] == "最後のステップです"
    # voice guidance: each question is spoken, as every screen
    said = k.app.guidance.voice.texts()
    for n in range(1, len(ANSWERS) + 1):
        assert sum(f"質問 {n}/" in t for t in said) == 1, (n, said)
    finish(k)
    # the visit is over: nothing of it stays in the session or on any screen
    assert k.s.visit is None
    for screen in k.app.root.ids.sm.screens:
        for w in screen.walk(restrict=True):
            text = str(getattr(w, "text", ""))
            assert DEMO_HOLDER["name"] not in text and "きたく" not in text, (screen.name, text)
            assert number not in text, (screen.name, text)


def test_step_indicator_on_a_single_procedure_too(kiosk: Any) -> None:
    k = kiosk
    assert indicator(k) == ("", "")                      # welcome: no steps yet
    k.tap("start")
    assert indicator(k)[0].startswith("ステップ 1/")
    k.tap("choose_procedure", "juminhyo")
    where, left = indicator(k)
    assert where.startswith("ステップ 2/") and left.startswith("あと")
    k.app.act("cancel")
    k.h.settle()
    assert indicator(k) == ("", "")


def test_new_screens_targets_reach_and_contrast(kiosk: Any) -> None:
    k = kiosk
    minimum = k.app.cfg.target_px - 0.5

    def controls() -> list[Any]:
        return buttons(k.h.widgets())

    def walk(check: Any) -> int:
        n = 0
        k.tap("start")
        k.tap("choose_life_events")
        n += check()
        k.tap("choose_event", "tennyu")
        n += check()
        for answer in ANSWERS:
            k.tap("answer", answer)
        n += check()
        k.app.act("cancel")
        k.h.settle()
        return n

    def targets() -> int:
        for w in controls():
            assert w.width >= minimum and w.height >= minimum, (k.s.step, w.action, w.size)
        return len(controls())

    for toggles in ((), ("large_text",)):
        for option in toggles:
            k.tap("toggle", option)
        assert walk(targets) > 10
        k.app.act("cancel")
        k.h.settle()

    def low() -> int:
        top = k.h.window.height * 2 / 3
        for w in controls():
            assert w.to_window(w.x, w.top)[1] <= top + 1, (k.s.step, w.action)
        return 1

    k.tap("toggle", "low_reach")
    assert walk(low) == 3
    k.app.act("cancel")
    k.h.settle()

    def readable() -> int:
        img = k.h.pixels()
        boxes = [w for w in controls() if w.text and shown(w)]
        boxes.append(k.app.root.ids.steps.ids.where)    # the indicator's words too
        for w in boxes:
            ratio = text_contrast(img, w)
            assert ratio >= 7, (k.s.step, getattr(w, "action", "steps"), ratio)
        return len(boxes)

    k.tap("toggle", "high_contrast")
    assert walk(readable) > 10


def test_back_goes_one_screen_back_and_no_question_is_asked_twice(kiosk: Any) -> None:
    k = kiosk
    to_plan(k)
    k.tap("back")                                      # the footer's 戻る
    assert k.s.step is Step.QUESTION
    assert k.s.visit.question.key == "dog"             # the last answer is taken back
    k.tap("answer", "yes")
    assert k.s.step is Step.PLAN and "dog" in k.s.visit.plan.chosen
    labels = k.labels()
    assert any("犬の登録の変更" in t for t in labels)    # another office's item, listed
    k.tap("accept_plan")
    k.tap("back")
    assert k.s.step is Step.PLAN                       # identity → the list again
    k.app.act("cancel")
    k.h.settle()
    assert k.s.step is Step.WELCOME and k.s.visit is None and not k.s.has_personal_data
