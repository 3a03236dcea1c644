"""A life-event visit through the domain session: event → questions → editable list →
one card read → each missing field once → one review → payment once → one routed
request; the privacy rules; the step indicator of every path; the payment chosen once."""

from __future__ import annotations

import json
import re

import pytest

from kiosk.domain.actions import Action, apply
from kiosk.domain.application import Authenticity, Identity
from kiosk.domain.catalog import Catalog
from kiosk.domain.life_events import LifeEventCatalog
from kiosk.domain.my_number import MyNumberCheck
from kiosk.domain.progress import IDENTITY, PAYMENT, PLAN, QUESTIONS, REVIEW
from kiosk.domain.session import (
    PayMethod,
    Session,
    SessionError,
    SessionSettings,
    Step,
    Ticket,
    WipeReason,
)

HOLDER = {"name": "山田\u3000花子", "address": "東京都新宿区西新宿２－８－１",
          "birth_date": "1985-03-07", "sex": "2"}
CHECK = MyNumberCheck(masked="********1234", check_digit_ok=True)
TICKET = Ticket(number="B-001", service="転入・転居・転出", people_ahead=1, wait_minutes=5,
                offline=False)
NEW_ADDRESS = "さかいしきたくしんかなおかちょう"


@pytest.fixture
def s(catalog: Catalog, events: LifeEventCatalog) -> Session:
    return Session(catalog, "kita", SessionSettings(cashless=True), now=0.0,
                   life_events=events)


def to_plan(s: Session, answers: tuple[str, ...] = ("no", "yes", "no", "いない", "1人", "no"),
            event: str = "tennyu") -> None:
    s.start(1)
    s.choose_life_events(2)
    s.choose_event(event, 3)
    for a in answers:
        assert s.step is Step.QUESTION
        s.answer(a, 4)
    assert s.step is Step.PLAN


def read_card(s: Session, check: MyNumberCheck | None = CHECK) -> None:
    s.choose_card(10)
    s.card_present(3, 11)
    for d in "1234":
        s.pin_press(d)
    assert s.take_pin() == "1234"
    s.pin_result(True, None, 12)
    s.card_read(HOLDER, check if s.procedure and s.procedure.needs_my_number else None,
                Authenticity.GENUINE, 13)


def type_text(s: Session, text: str) -> None:
    for ch in text:
        s.entry_press(ch)
    s.entry_done(20)


def test_tennyu_with_children_one_card_read_one_routed_request(s: Session) -> None:
    to_plan(s)
    assert s.visit is not None and s.visit.plan is not None
    assert s.visit.plan.procedures == ("tennyu", "card_address", "kokuho_kanyu",
                                       "jidoteate", "kodomo_iryo")
    s.add_item("kokumin_nenkin")
    s.drop_item("kokumin_nenkin")
    s.add_item("inkan_toroku")
    s.accept_plan(5)
    assert s.step is Step.IDENTITY
    read_card(s)
    # Fields no card holds, each asked ONCE although several forms carry them.
    asked = []
    while s.step is Step.ENTRY:
        f = s.entry_field()
        asked.append(f.key)
        if f.key == "new_address":
            type_text(s, NEW_ADDRESS)
        elif f.key == "move_date":
            s.entry_done(21, "2026-12-01")  # the "today" button gives the date
        else:
            raise AssertionError(f"asked {f.key}")
    assert asked == ["new_address", "move_date"]
    assert s.step is Step.CONFIRM
    assert s.values["householder"] == HOLDER["name"]  # prefilled, editable in the review
    review = s.visit.form.review(s.values)  # type: ignore[union-attr]
    assert [r.procedure.code for r in review] == [
        "tennyu", "card_address", "kokuho_kanyu", "jidoteate", "kodomo_iryo", "inkan_toroku"]
    s.confirm(22)
    assert s.step is Step.ISSUING and s.pay_method is PayMethod.COUNTER  # all free
    req = s.routed_request()
    assert req is not None
    wire = req.to_dict()
    assert wire["service"] == "moving" and wire["procedure"] == "tennyu"
    assert wire["life_event"] == "tennyu"
    assert wire["route"] == [
        {"service": "moving", "procedures": ["tennyu", "card_address"]},
        {"service": "insurance", "procedures": ["kokuho_kanyu", "jidoteate"]},
        {"service": "children", "procedures": ["kodomo_iryo"]},
        {"service": "certificates", "procedures": ["inkan_toroku"]}]
    apps = {a["procedure"]: a for a in wire["applications"]}
    assert list(apps) == ["tennyu", "card_address", "kokuho_kanyu", "jidoteate",
                          "kodomo_iryo", "inkan_toroku"]
    assert apps["tennyu"]["values"]["address"] == HOLDER["address"]  # 前住所 from the card
    assert apps["tennyu"]["values"]["new_address"] == NEW_ADDRESS
    assert apps["kokuho_kanyu"]["values"]["address"] == NEW_ADDRESS  # copy
    assert apps["kokuho_kanyu"]["values"]["reason"] == "転入"          # preset
    assert apps["kodomo_iryo"]["values"]["child_insurance"] == "国民健康保険"  # by answer
    assert apps["kokuho_kanyu"]["values"]["my_number"] == CHECK.to_dict()
    assert "my_number" not in apps["tennyu"]["values"]
    assert all(a["identity"] == "card" for a in wire["applications"])
    assert {g["name"] for g in wire["guide"]} >= {"水道の使用開始", "印鑑登録"}
    assert not re.search(r"\d{12}", json.dumps(wire, ensure_ascii=False))  # no 個人番号
    s.ticket_issued(TICKET, 23)
    s.finish(24)
    assert s.tick(24 + s.settings.thanks_s + 0.1) is WipeReason.END
    assert s.visit is None and not s.has_personal_data and s.procedure is None


def test_my_number_is_not_read_when_no_chosen_form_needs_it(s: Session) -> None:
    to_plan(s, ("yes", "no", "いない", "0人", "no"))  # employee, no children: 転入届 only
    s.accept_plan(5)
    assert s.procedure is not None and not s.procedure.needs_my_number
    read_card(s, check=CHECK)
    assert "my_number" not in s.values
    while s.step is Step.ENTRY:
        s.entry_done(20, "2026-12-01") if s.entry_field().key == "move_date" \
            else type_text(s, NEW_ADDRESS)
    s.confirm(22)
    apps = s.applications()
    assert [a.procedure for a in apps] == ["tennyu"]
    assert all("my_number" not in a.values for a in apps)


def test_cancel_and_timeout_wipe_the_answers_and_forms(s: Session) -> None:
    to_plan(s)
    assert s.has_personal_data  # the answers say something about the household
    s.cancel(5)
    assert s.visit is None and not s.has_personal_data
    to_plan(s)
    s.accept_plan(5)
    read_card(s)
    assert s.tick(13 + s.settings.idle_timeout_s + 1) is WipeReason.TIMEOUT
    assert s.visit is None and s.values == {} and s.procedure is None


def test_back_walks_the_questions_and_an_answer_change_forgets_what_no_longer_applies(
        s: Session) -> None:
    s.start(1)
    s.choose_life_events(2)
    s.choose_event("tennyu", 3)
    s.answer("no", 4)
    s.answer("yes", 4)   # children
    s.answer("yes", 4)   # school children
    s.back(5)            # back to 小中学生はいますか
    assert s.visit.question.key == "school_children"  # type: ignore[union-attr]
    s.back(5)
    s.answer("no", 6)    # no children: the school question is not asked
    assert s.visit.question.key == "seniors"  # type: ignore[union-attr]
    assert "school_children" not in s.visit.answers  # type: ignore[union-attr]
    s.back(6)
    s.back(6)
    s.back(6)
    assert s.step is Step.EVENT and s.visit is None
    s.back(7)
    assert s.step is Step.PROCEDURE


def test_back_from_identity_returns_to_the_list(s: Session) -> None:
    to_plan(s)
    s.accept_plan(5)
    s.back(6)
    assert s.step is Step.PLAN and s.procedure is None and s.visit is not None


def test_wrong_answers_and_items_are_session_errors(s: Session) -> None:
    s.start(1)
    with pytest.raises(SessionError):
        s.choose_event("tennyu", 2)  # not on the event screen yet
    s.choose_life_events(2)
    with pytest.raises(SessionError):
        s.choose_event("wedding", 3)
    s.choose_event("tennyu", 3)
    with pytest.raises(SessionError):
        s.answer("maybe", 4)
    for a in ("no", "yes", "no", "いない", "1人", "no"):
        s.answer(a, 4)
    with pytest.raises(SessionError):
        s.add_item("no_such_procedure")
    with pytest.raises(SessionError):
        s.drop_item("shussei")


def test_an_empty_list_cannot_be_accepted(s: Session) -> None:
    to_plan(s, ("yes", "no", "いない", "0人", "no"))
    s.drop_item("tennyu")
    s.accept_plan(5)
    assert s.step is Step.PLAN and s.notice is not None and s.notice.error


def test_no_life_events_configured(catalog: Catalog) -> None:
    s = Session(catalog, "kita", SessionSettings(), now=0.0)
    s.start(1)
    assert s.events() == ()
    with pytest.raises(SessionError):
        s.choose_life_events(2)


def test_typed_identity_asks_each_field_once(s: Session) -> None:
    to_plan(s, ("no", "yes", "no", "いない", "0人", "no"))
    s.accept_plan(5)
    s.choose_no_card(6)
    keys = []
    values = {"name": "やまだ　はなこ", "address": "とうきょうと", "new_address": NEW_ADDRESS}
    while s.step is Step.ENTRY:
        f = s.entry_field()
        keys.append(f.key)
        if f.key in values:
            type_text(s, values[f.key])
        elif f.key in ("birth_date", "move_date"):
            s.entry_done(20, "1985-03-07" if f.key == "birth_date" else "2026-12-01")
        elif f.key == "sex":
            s.entry_done(20, "2")
    assert len(keys) == len(set(keys))
    assert "householder" not in keys  # prefilled from the typed name
    s.confirm(30)
    assert all(a.identity is Identity.TYPED for a in s.applications())


def test_ask_staff_in_a_visit_sends_only_what_the_resident_chose(s: Session) -> None:
    to_plan(s)
    s.accept_plan(5)
    s.ask_staff(6)
    req = s.routed_request()
    assert req is not None and all(a.identity is Identity.ASSISTED for a in req.applications)
    with pytest.raises(SessionError):
        s.application()  # one form of a single procedure: not what a visit sends
    kokuho = next(a for a in req.applications if a.procedure == "kokuho_kanyu")
    assert kokuho.values["reason"] == "転入" and "name" not in kokuho.values


# --- the step indicator ---------------------------------------------------------------

def test_progress_of_a_single_procedure(s: Session) -> None:
    assert s.progress is None  # welcome
    s.start(1)
    p = s.progress
    assert p is not None and p.index == 0 and PAYMENT in p.labels
    s.choose_procedure("tennyu", 2)  # free: no payment step
    p = s.progress
    assert p is not None and p.current == IDENTITY and PAYMENT not in p.labels
    assert QUESTIONS not in p.labels and p.left == 2
    s2 = Session(s.catalog, "kita", SessionSettings(), now=0.0)
    s2.start(1)
    s2.choose_procedure("juminhyo", 2)
    s2.choose_card(3)
    s2.card_present(3, 4)
    assert s2.progress is not None and s2.progress.current == IDENTITY
    s2.choose_no_card(5)
    p = s2.progress
    assert p is not None and p.current == "入力" and p.labels[-2] == PAYMENT


def test_progress_of_a_life_event(s: Session) -> None:
    s.start(1)
    s.choose_life_events(2)
    first = s.progress
    assert first is not None and first.index == 0 and QUESTIONS in first.labels
    s.choose_event("tennyu", 3)
    p = s.progress
    assert p is not None and p.current == QUESTIONS and p.index == 1
    assert p.labels == first.labels
    for a in ("no", "yes", "no", "いない", "1人", "no"):
        s.answer(a, 4)
    assert s.progress is not None and s.progress.current == PLAN
    s.accept_plan(5)
    read_card(s)
    labels = s.progress.labels  # type: ignore[union-attr]
    while s.step is Step.ENTRY:
        assert s.progress.current == "入力"  # type: ignore[union-attr]
        s.entry_done(20, "2026-12-01") if s.entry_field().key == "move_date" \
            else type_text(s, NEW_ADDRESS)
    p = s.progress
    assert p is not None and p.current == REVIEW and p.labels == labels
    assert p.index < p.total - 1


# --- the payment, chosen once -----------------------------------------------------------

def test_payment_is_one_choice_qr_terminal_or_counter(s: Session) -> None:
    assert s.payment_choices() == (PayMethod.CODE, PayMethod.TERMINAL, PayMethod.COUNTER)
    s.start(1)
    s.choose_procedure("juminhyo", 2)
    s.ask_staff(3)  # (counter) — now a paid visit through the card path
    s2 = Session(s.catalog, "kita", SessionSettings(cashless=True,
                                                    cashless_methods=("code",)), now=0.0)
    assert s2.payment_choices() == (PayMethod.CODE, PayMethod.COUNTER)
    s2.start(1)
    s2.choose_procedure("juminhyo", 2)
    s2.choose_no_card(3)
    for key, v in (("name", "やまだ"), ("address", "さかい")):
        assert s2.entry_field().key == key
        type_text(s2, v)
    s2.entry_done(4, "1985-03-07")
    s2.confirm(5)
    assert s2.step is Step.PAYMENT
    with pytest.raises(SessionError):
        s2.choose_payment(PayMethod.TERMINAL, 6)  # not offered on this kiosk
    s2.choose_payment(PayMethod.CODE, 6)
    assert s2.step is Step.ISSUING
    s2.ticket_issued(TICKET, 7)
    assert s2.step is Step.CASHLESS and s2.pay_method is PayMethod.CODE
    s2.payment_finished(True, 8)
    assert s2.step is Step.TICKET and s2.paid
    no_cashless = Session(s.catalog, "kita", SessionSettings(), now=0.0)
    assert no_cashless.payment_choices() == (PayMethod.COUNTER,)


def test_a_paid_life_event_sums_every_form(s: Session) -> None:
    to_plan(s, ("yes", "no", "いない", "0人", "no"))
    s.add_item("juminhyo")
    s.accept_plan(5)
    read_card(s)
    while s.step is Step.ENTRY:
        s.entry_done(20, "2026-12-01") if s.entry_field().key == "move_date" \
            else type_text(s, NEW_ADDRESS)
    s.set_count("copies", +1)
    assert s.fee() == 600
    s.confirm(22)
    assert s.step is Step.PAYMENT
    apply(s, Action.CHOOSE_PAYMENT, ("terminal",), 23)
    assert s.pay_method is PayMethod.TERMINAL and s.step is Step.ISSUING


def test_life_event_actions_by_name(s: Session) -> None:
    apply(s, Action.START, (), 1)
    apply(s, Action.CHOOSE_LIFE_EVENTS, (), 2)
    apply(s, Action.CHOOSE_EVENT, ("shussei",), 3)
    apply(s, Action.ANSWER, ("yes",), 4)
    assert s.step is Step.PLAN
    apply(s, Action.DROP_ITEM, ("kodomo_iryo",), 5)
    apply(s, Action.ADD_ITEM, ("kodomo_iryo",), 5)
    apply(s, Action.ACCEPT_PLAN, (), 6)
    assert s.step is Step.IDENTITY
    assert s.visit is not None and s.visit.plan is not None
    assert s.visit.plan.procedures == ("shussei", "jidoteate", "kodomo_iryo")


def test_tennyu_with_three_procedures_takes_at_most_15_touches_plus_pin(s: Session) -> None:
    from devtools.life_script import TENNYU_THREE, run
    touches = run(s, TENNYU_THREE)
    assert s.step is Step.ISSUING
    req = s.routed_request()
    assert req is not None
    assert [a.procedure for a in req.applications] == ["tennyu", "card_address",
                                                       "kokuho_kanyu"]
    assert touches.taps <= 15 and touches.pin == 5
    assert touches.keys > 0  # the new address is typed: no card holds it


def test_back_from_an_entry_after_the_card_read_goes_to_the_review(s: Session) -> None:
    to_plan(s)
    s.accept_plan(5)
    read_card(s)
    assert s.step is Step.ENTRY
    s.back(14)
    assert s.step is Step.CONFIRM and s.identity is Identity.CARD
    s.confirm(15)  # still missing: said, and the resident edits it from the review
    assert s.step is Step.CONFIRM and s.notice is not None and s.notice.error
    s.edit("new_address", 16)
    type_text(s, NEW_ADDRESS)
    assert s.step is Step.CONFIRM


def test_ticket_stages_planned_and_from_the_response(s: Session) -> None:
    from devtools.life_script import TENNYU_THREE, run
    from kiosk.domain.visit import TicketStage
    run(s, TENNYU_THREE)
    req = s.routed_request()
    assert req is not None
    planned = TicketStage.planned(req.route, s.catalog)
    assert [(t.seq, t.service_name, t.procedures) for t in planned] == [
        (1, "転入・転居・転出", ("tennyu", "card_address")),
        (2, "保険・年金・手当", ("kokuho_kanyu",))]
    answered = TicketStage.from_response([
        {"seq": 1, "service": "moving", "service_name": "転入・転居・転出",
         "procedures": ["tennyu", "card_address"], "status": "called", "counter": 3},
        {"seq": 2, "service": "insurance", "service_name": "保険・年金・手当",
         "procedures": ["kokuho_kanyu"], "status": "waiting", "counter": None}])
    assert answered[0].status == "called" and answered[0].counter == 3
    assert TicketStage.from_response(None) == () and TicketStage.from_response([1]) == ()
    ticket = Ticket(number="B-001", service="転入・転居・転出", people_ahead=0, wait_minutes=0,
                    offline=True, route=planned, guide=req.guide)
    s.ticket_issued(ticket, 30)
    assert s.ticket is not None and s.ticket.route == planned
    s.cancel(31)
    assert s.ticket is None and not s.has_personal_data


def test_interview_mode_same_questions_forms_typed_by_a_clerk(
        catalog: Catalog, events: LifeEventCatalog) -> None:
    from kiosk.domain.application import ApplicationError
    from kiosk.domain.life_events import plan
    from kiosk.domain.visit import VisitForm, interview
    event = events.event("tennyu")
    answers = {"employer_insurance": "no", "children": "no", "seniors": "いない",
               "card_holders": "1人", "dog": "no"}
    fields = VisitForm.build(plan(event, answers), catalog).combined.fields
    keys = [f.key for f in fields]
    assert keys[:8] == ["name", "birth_date", "sex", "address", "new_address", "move_date",
                        "householder", "relationship"]
    assert len(keys) == len(set(keys)) and "reason" not in keys  # shared once; preset
    typed = {"name": "山田　花子", "birth_date": "1985-03-07", "sex": "2",
             "address": "東京都新宿区", "new_address": "堺市北区", "move_date": "2026-12-01"}
    req = interview(event, answers, catalog, typed, add=("inkan_toroku",))
    assert [s.service for s in req.route] == ["moving", "insurance", "certificates"]
    tennyu = req.applications[0]
    assert tennyu.identity is Identity.TYPED and tennyu.values["householder"] == "山田　花子"
    inkan = req.applications[-1]
    assert inkan.procedure == "inkan_toroku" and inkan.values["address"] == "堺市北区"
    with pytest.raises(ApplicationError):
        interview(event, answers, catalog, {**typed, "move_date": "12月1日"})
