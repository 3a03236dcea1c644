"""The controller's background steps: a step that raises still reports back, and a late
result of an ended visit never blocks or reaches the next resident. No Kivy: a deferred
runner stands in for the worker thread so the test decides when results come back."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from devtools.standins import InProcessPrinter, LocalDesk, StandInCard, StandInReader
from kiosk.configfile import load_catalog
from kiosk.domain.session import Session, SessionSettings, Step
from kiosk.ui.controller import Controller


class DeferredRunner:
    """Runs work when told to, like a worker thread whose answer is late."""

    def __init__(self) -> None:
        self.pending: list[tuple[Callable[[], Any], Callable[[Any], None]]] = []

    def __call__(self, work: Callable[[], Any], then: Callable[[Any], None]) -> None:
        self.pending.append((work, then))

    def finish_all(self) -> None:
        jobs, self.pending = self.pending, []
        for work, then in jobs:
            then(work())


class BrokenReader(StandInReader):
    def poll(self) -> Any:
        raise RuntimeError("not the kind of failure the reader promises")


def controller(runner: DeferredRunner, reader: StandInReader) -> Controller:
    session = Session(load_catalog(), "kita", SessionSettings(), 0.0)
    return Controller(session, reader, LocalDesk(), InProcessPrinter(), lambda: 1.0,
                      runner)


def to_card_step(c: Controller) -> None:
    c.act("start")
    c.act("choose_procedure", "juminhyo")
    c.act("choose_card")
    assert c.session.step is Step.CARD


def test_a_card_found_after_the_visit_ended_is_unpowered_and_does_not_block() -> None:
    runner, reader = DeferredRunner(), StandInReader()
    c = controller(runner, reader)
    to_card_step(c)
    card = reader.place(StandInCard())
    c.tick()                       # the card watch starts, its answer is late
    assert c.busy
    c.end_visit()                  # the resident walked away meanwhile
    assert not c.busy              # the next resident is not kept waiting
    runner.finish_all()
    assert c.card is None and c.session.step is Step.WELCOME
    assert not card.powered        # found too late: unpowered all the same

    to_card_step(c)                # the next visit watches for its own card
    next_card = reader.place(StandInCard())
    c.tick()
    runner.finish_all()
    assert c.card is next_card and c.session.step is Step.PIN


def test_a_step_that_raises_reports_back() -> None:
    runner = DeferredRunner()
    c = controller(runner, BrokenReader())
    to_card_step(c)
    c.tick()
    assert c.busy
    runner.finish_all()
    assert not c.busy                            # the card watch goes on
    assert c.session.step is Step.CARD
    assert c.session.notice is not None and c.session.notice.error  # and the resident is told


def test_each_visit_outcome_is_logged_without_personal_data(caplog: Any) -> None:
    """A maintainer reading the journal sees each visit's outcome, never the resident."""
    caplog.set_level("INFO", logger="kiosk.ui.controller")
    runner, reader = DeferredRunner(), StandInReader()
    c = controller(runner, reader)
    to_card_step(c)
    card = reader.place(StandInCard())
    c.tick()
    runner.finish_all()
    for digit in card.pin:
        c.act("pin_press", digit)
    c.act("take_pin")
    runner.finish_all()            # PIN verified, the card read
    runner.finish_all()
    c.act("confirm")
    if c.session.step is Step.PAYMENT:
        c.act("choose_payment", "counter")
    runner.finish_all()            # the ticket issued and printed
    assert c.session.step is Step.TICKET
    c.end_visit()
    lines = [r.getMessage() for r in caplog.records]
    assert lines == ["visit: ticket A-001 for juminhyo issued offline, printed",
                     "visit ended (cancel) at ticket: personal data wiped"]
    said = "\n".join(lines)
    for personal in (card.number, card.pin, *card.holder.values()):
        assert personal not in said
