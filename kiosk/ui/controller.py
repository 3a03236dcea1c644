"""Runs the resident session against the devices: the one place the UI's I/O happens.

The screens call `act(...)` for every resident action; the controller applies it to the
session (`kiosk.domain.actions`), then does what the new step asks for — watch for a
card, verify the PIN, read the card, issue and print the ticket — through the ports, on
a worker (`Runner`) so the screen stays responsive. When the visit ends for any reason
the card is unpowered and the personal data wiped. No Kivy here: the benchmark and the
headless walkthrough drive it too.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from kiosk.domain import checkin
from kiosk.domain.actions import Action, apply
from kiosk.domain.application import CardKey
from kiosk.domain.session import Session, Step, Ticket, WipeReason
from kiosk.domain.visit import RoutedRequest
from kiosk.ui.ports import (
    CardError,
    CardLink,
    CardReader,
    CheckedIn,
    CheckInRefused,
    TicketDesk,
    TicketPrinter,
)

log = logging.getLogger(__name__)

CARD_STEPS = (Step.CARD, Step.PIN, Step.CODE_B, Step.READING)


class Runner(Protocol):
    def __call__(self, work: Callable[[], Any], then: Callable[[Any], None]) -> None: ...


@dataclass(frozen=True)
class StepFailed:
    """What a background step that raised reports back (see `Controller._run`)."""

    error: Exception


def run_now(work: Callable[[], Any], then: Callable[[Any], None]) -> None:
    """The synchronous runner (tests, benchmark)."""
    then(work())


class Controller:
    def __init__(self, session: Session, reader: CardReader, desk: TicketDesk,
                 printer: TicketPrinter, clock: Callable[[], float],
                 runner: Runner = run_now) -> None:
        self.session = session
        self.reader = reader
        self.desk = desk
        self.printer = printer
        self.clock = clock
        self.runner = runner
        self.card: CardLink | None = None
        self.busy = False
        # Bumped whenever a visit ends: a device or network call still running for an
        # ended visit must neither block the next resident nor reach their screen.
        self.visit = 0
        self.listeners: list[Callable[[], None]] = []

    # --- plumbing ----------------------------------------------------------------------
    def changed(self) -> None:
        for listener in self.listeners:
            listener()

    def touch(self) -> None:
        self.session.touch(self.clock())

    def act(self, name: str, *args: object) -> None:
        """Do one resident action (`kiosk.domain.actions`), then follow up on the new step."""
        action = Action(name)
        if action is Action.CANCEL:
            self.end_visit()  # the devices are let go of too, not only the session
            return
        before = self.session.step
        secret = apply(self.session, action, args, self.clock())
        if secret is not None:
            (self._verify_code_b if action is Action.TAKE_CODE_B else self._verify)(secret)
        self._after(before)
        self.changed()

    def _after(self, before: Step) -> None:
        s = self.session
        if before in CARD_STEPS and s.step not in CARD_STEPS:
            self._close_card()
        if s.step is Step.CODE_B and before is not Step.CODE_B and not self.busy:
            self._code_b_tries()
        if s.step is Step.READING and not self.busy:
            self._read_card()
        elif s.step is Step.ISSUING and not self.busy:
            self._check_in() if s.booking_code is not None else self._issue()

    def scanned(self, text: str) -> None:
        """A code from the 2D scanner (read on its own thread, handed to the UI thread):
        taken on the welcome and check-in screens, ignored elsewhere and while busy."""
        if self.busy:
            return
        before = self.session.step
        if self.session.code_scanned(text, self.clock()):
            self.session.touch(self.clock())
            self._after(before)
            self.changed()

    def tick(self) -> None:
        """Called a few times a second: idle timeout, card watch."""
        s = self.session
        before = s.step
        reason = s.tick(self.clock())
        if reason is not None:
            log.info("visit ended (%s): personal data wiped", reason.value)
            self._visit_ended()
            self.changed()
            return
        if before is not s.step:
            self.changed()
            return
        if s.step is Step.CARD and self.card is None and not self.busy:
            self._poll_card()

    def _close_card(self) -> None:
        card, self.card = self.card, None
        if card is not None:
            try:
                card.close()
            except Exception:  # the card may already be gone; unpowering is best effort
                log.warning("closing the card failed", exc_info=True)

    def _visit_ended(self) -> None:
        self._close_card()
        self.visit += 1
        self.busy = False

    def _run(self, work: Callable[[], Any], then: Callable[[Any], None],
             discard: Callable[[Any], None] | None = None) -> None:
        """Run `work` off the UI thread; `then` gets its result if the visit is still on.

        A late result of an ended visit goes to `discard` (e.g. to unpower a card found
        too late) instead. A `work` that raises still reports back, as `StepFailed`: a
        worker that never answered would leave the kiosk waiting for ever."""
        self.busy = True
        visit = self.visit

        def guarded() -> Any:
            try:
                return work()
            except Exception as exc:
                log.error("a background step failed", exc_info=True)
                return StepFailed(exc)

        def finish(result: Any) -> None:
            if visit != self.visit:
                log.info("dropped the late result of an ended visit")
                if discard is not None and not isinstance(result, StepFailed):
                    discard(result)
                return
            self.busy = False
            if isinstance(result, StepFailed):
                self._step_failed()
            else:
                then(result)
            self.changed()

        self.runner(guarded, finish)

    def _step_failed(self) -> None:
        """An unexpected failure: tell the resident as for a card or ticket problem."""
        s = self.session
        if s.step is Step.ISSUING and s.booking_code is not None:
            s.check_in_refused(checkin.refusal("failed"), self.clock())
        elif s.step is Step.ISSUING:
            s.issue_failed(self.clock())
        elif s.step in CARD_STEPS:
            s.card_failed("カードが読み取れませんでした。もう一度置いてください。", self.clock())
            self._close_card()

    # --- card --------------------------------------------------------------------------
    def _poll_card(self) -> None:
        def work() -> tuple[CardLink, int] | CardError | None:
            try:
                card = self.reader.poll()
                return (card, card.tries_left()) if card is not None else None
            except CardError as exc:
                return exc

        def then(result: tuple[CardLink, int] | CardError | None) -> None:
            s = self.session
            if isinstance(result, tuple):
                card, tries = result
                if s.step is not Step.CARD:  # the resident left meanwhile
                    card.close()
                    return
                self.card = card
                s.card_present(tries, self.clock())
            elif isinstance(result, CardError) and s.step is Step.CARD:
                s.card_problem(result.msgid, self.clock(), result.params)

        def discard(result: tuple[CardLink, int] | CardError | None) -> None:
            if isinstance(result, tuple):
                result[0].close()  # found for a visit that has ended: unpower it

        self._run(work, then, discard)

    def _card_step(self, step: Step, call: Callable[[CardLink], Any],
                   done: Callable[[Any], None]) -> None:
        """One card call off the UI thread, answered only while the session is still at
        `step`; a card error sends the resident back to place the card, unpowered."""
        card = self.card
        if card is None:
            return

        def work() -> Any:
            try:
                return call(card)
            except CardError as exc:
                return exc

        def then(result: Any) -> None:
            s = self.session
            if s.step is not step:
                return
            if isinstance(result, CardError):
                s.card_problem(result.msgid, self.clock(), result.params)
                self._close_card()
                return
            done(result)

        self._run(work, then)

    def _verify(self, pin: str | None) -> None:
        if pin is None:
            return

        def done(result: tuple[bool, int | None]) -> None:
            self.session.pin_result(*result, self.clock())
            self._after(Step.PIN)

        self._card_step(Step.PIN, lambda card: card.verify(pin), done)

    def _read_card(self) -> None:
        card = self.card
        procedure = self.session.procedure
        if card is None or procedure is None:
            self.session.card_problem("カードが読み取れませんでした。もう一度置いてください。",
                                      self.clock())
            return

        # 照合番号B does not open the 個人番号: the form goes on without it (the counter asks)
        number = procedure.needs_my_number and self.session.card_key is not CardKey.CODE_B

        def work() -> Any:
            try:
                holder = card.read_holder()
                check = card.read_my_number() if number else None
                return holder, check, card.authenticity()
            except CardError as exc:
                return exc

        def then(result: Any) -> None:
            s = self.session
            if s.step is not Step.READING:
                return
            if isinstance(result, CardError):
                s.card_failed(result.msgid, self.clock(), result.params)
                self._close_card()
                return
            holder, check, authenticity = result
            s.card_read(holder, check, authenticity, self.clock())
            self._close_card()  # everything needed is read: unpower now

        self._run(work, then)

    # --- 照合番号B -------------------------------------------------------------------------
    def _code_b_tries(self) -> None:
        self._card_step(Step.CODE_B, lambda card: card.code_b_tries_left(),
                        self.session.code_b_present)

    def _verify_code_b(self, code: str) -> None:
        def done(result: tuple[bool, int | None]) -> None:
            self.session.code_b_result(*result, self.clock())
            self._after(Step.CODE_B)

        self._card_step(Step.CODE_B, lambda card: card.verify_code_b(code), done)

    # --- ticket ------------------------------------------------------------------------
    def _issue(self) -> None:
        s = self.session
        procedure = s.procedure
        assert procedure is not None
        # A life-event visit: one routed ticket for every form, and its guide slip.
        routed = s.routed_request()
        application = s.application() if routed is None else None
        event_name = s.visit.event.name if s.visit is not None else ""

        def work() -> Ticket | Exception:
            try:
                if routed is not None:
                    ticket = self.desk.issue_visit(routed, s.ward, s.language)
                else:
                    assert application is not None
                    ticket = self.desk.issue(application, procedure, s.ward)
            except Exception as exc:  # any failure: the resident is sent to staff
                log.error("issuing a ticket failed", exc_info=True)
                return exc
            try:
                if routed is not None:
                    problem = self.printer.print_visit(ticket, routed, event_name,
                                                       s.catalog, s.ward, s.language)
                else:
                    problem = self.printer.print_ticket(ticket, procedure, s.ward, s.language)
            except Exception:
                log.warning("printing the ticket failed", exc_info=True)
                problem = "プリンターが使えません。"
            return _printed(ticket, problem)

        def then(result: Ticket | Exception) -> None:
            if s.step is not Step.ISSUING:
                return
            if isinstance(result, Exception):
                log.warning("visit: no ticket for %s (issuing failed); resident sent to staff",
                            procedure.code)
                s.issue_failed(self.clock())
            else:
                log.info("visit: ticket %s for %s issued %s, %s", result.number, procedure.code,
                         "offline" if result.offline else "online",
                         "printed" if result.printed else f"NOT printed ({result.print_problem})")
                s.ticket_issued(result, self.clock())

        self._run(work, then)

    # --- a booking's check-in -----------------------------------------------------------
    def _check_in(self) -> None:
        """The booking's ticket, printed; a booked life event (on a kiosk that knows it)
        answers without one first — its forms are filled, then sent with the code. Should
        that last call fail, the visit is issued as a walk-in's (offline numbers too):
        the forms are never lost."""
        s = self.session
        code = s.booking_code
        assert code is not None
        routed = s.routed_request()
        forms_first = s.life_events is not None
        event_name = s.visit.event.name if s.visit is not None else ""

        def work() -> CheckedIn | CheckInRefused | Ticket:
            try:
                done = self.desk.check_in(code, s.ward, s.language, visit=routed,
                                          forms_first=forms_first)
                if done.ticket is None and not s.knows_event(done.booking.life_event):
                    done = self.desk.check_in(code, s.ward, s.language)
            except CheckInRefused as exc:
                if routed is None:
                    return exc
                log.warning("check-in with the forms refused (%s): issued as a walk-in",
                            exc.code)
                return self._print_visit(self.desk.issue_visit(routed, s.ward, s.language),
                                         routed, event_name)
            if done.ticket is None:
                return done
            if routed is not None:
                return CheckedIn(self._print_visit(done.ticket, routed, event_name),
                                 done.booking)
            procedure = (s.catalog.procedures.get(done.booking.procedure or "")
                         or next(p for p in s.procedures if p.service == done.ticket.service))
            try:
                problem = self.printer.print_ticket(done.ticket, procedure, s.ward, s.language)
            except Exception:
                log.warning("printing the ticket failed", exc_info=True)
                problem = "プリンターが使えません。"
            return CheckedIn(_printed(done.ticket, problem), done.booking)

        def then(result: CheckedIn | CheckInRefused | Ticket) -> None:
            if s.step is not Step.ISSUING:
                return
            if isinstance(result, CheckInRefused):
                log.info("check-in refused: %s", result.code)   # never the code itself
                ward = result.details.get("ward")
                name = s.catalog.wards[ward].name if isinstance(ward, str) \
                    and ward in s.catalog.wards else ""
                s.check_in_refused(checkin.refusal(result.code, result.details, name),
                                   self.clock())
            elif isinstance(result, Ticket):   # the forms went as a walk-in's visit
                s.checked_in_as_walk_in(result, self.clock())
            else:
                log.info("check-in: %s for a booking of %s%s", "ticket " + result.ticket.number
                         if result.ticket else "its forms first", result.booking.service,
                         " (late: as a walk-in)" if result.booking.late else "")
                s.checked_in(result.ticket, result.booking, self.clock())

        self._run(work, then)

    def _print_visit(self, ticket: Ticket, routed: RoutedRequest, event_name: str) -> Ticket:
        s = self.session
        try:
            problem = self.printer.print_visit(ticket, routed, event_name, s.catalog, s.ward,
                                               s.language)
        except Exception:
            log.warning("printing the ticket failed", exc_info=True)
            problem = "プリンターが使えません。"
        return _printed(ticket, problem)

    def end_visit(self, reason: WipeReason = WipeReason.CANCEL) -> None:
        if self.session.step is not Step.WELCOME:
            log.info("visit ended (%s) at %s: personal data wiped", reason.value,
                     self.session.step.value)
        self._visit_ended()
        self.session.wipe(reason, self.clock())
        self.changed()


def _printed(ticket: Ticket, problem: str | None) -> Ticket:
    from dataclasses import replace
    return replace(ticket, printed=problem is None, print_problem=problem)
