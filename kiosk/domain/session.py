"""The resident's visit at the kiosk, as a state machine. No Kivy, no I/O, no clock.

    welcome → procedure → identity ─┬─ card → pin [→ code B] → reading ─┐
                                    ├─ no card → entry … ────┼→ confirm → payment → issuing
                                    └─ ask staff ────────────────────────────────→ issuing
    issuing → [cashless →] ticket → thanks → welcome

    A life event (kiosk.domain.visit): procedure → event → question … → plan → identity
    → (card read once; then entry of the fields no card holds, each once) → confirm (one
    review of every form) → payment (chosen once) → issuing (one routed ticket).

The UI shows what this computes and the controller (kiosk.ui.controller) does the I/O
the steps ask for: `READING` means "read the card now", `ISSUING` "issue the ticket now".
Time is passed in (`now`, seconds, any monotonic origin) so tests need no clock.

Privacy: the PIN lives in `pin_digits` only while it is typed and leaves by
`take_pin()`; the 個人番号 never arrives here (the card adapter turns it into a
`MyNumberCheck` first); `wipe()` forgets every personal value on timeout, cancel and the
end of the visit, and each wipe is recorded in `wipes` (reason + time, no data).

One module of about 900 lines on purpose: the visit's steps, their guards and the
wipe read as one state machine; split, its transitions would scatter (the action names
the buttons use are in kiosk.domain.actions; a life event's state and its forms as one
are in kiosk.domain.visit, the step indicator in kiosk.domain.progress).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from kiosk.domain import card_check, checkin, kana
from kiosk.domain.application import Application, Authenticity, CardKey, Identity
from kiosk.domain.appointments import normal_code
from kiosk.domain.card_check import UnverifiablePolicy
from kiosk.domain.catalog import Catalog, FieldKind, FieldSource, FormField, Procedure
from kiosk.domain.code_b import CodeBEntry
from kiosk.domain.life_events import GuideItem, LifeEvent, LifeEventCatalog
from kiosk.domain.my_number import MyNumberCheck
from kiosk.domain.progress import Progress, progress_of
from kiosk.domain.streets import Street, suggest
from kiosk.domain.visit import LifeVisit, RoutedRequest, TicketStage, VisitForm

PIN_LENGTH = 4
SAFE_TRIES = 2  # never send a PIN when only one try is left: the last try blocks the card
CODE_B_SAFE_TRIES = 3  # 照合番号B: never spend the last two tries


class Step(StrEnum):
    WELCOME = "welcome"
    CHECK_IN = "check_in"  # 予約の方: scan the booking's QR or type its code
    PROCEDURE = "procedure"
    EVENT = "event"        # which life event (引っ越し・出生・おくやみ)
    QUESTION = "question"  # one question of the event per screen
    PLAN = "plan"          # the procedures the answers call for, editable
    IDENTITY = "identity"
    CARD = "card"
    PIN = "pin"
    CODE_B = "code_b"   # the PIN-less way: 照合番号B from the card face
    READING = "reading"
    ENTRY = "entry"
    CONFIRM = "confirm"
    PAYMENT = "payment"
    CASHLESS = "cashless"
    ISSUING = "issuing"
    TICKET = "ticket"
    THANKS = "thanks"


class PayMethod(StrEnum):
    """How the fee is paid, chosen once on the payment screen."""

    COUNTER = "counter"
    CODE = "code"           # the QR code (JPQR) now
    TERMINAL = "terminal"   # the payment terminal now
    CASHLESS = "cashless"   # cashless, the payment screen asks which (before issue #17)

    @property
    def cashless(self) -> bool:
        return self is not PayMethod.COUNTER


class EntryMode(StrEnum):
    """Which on-screen input a field needs."""

    KANA = "kana"      # kana keyboard (names, addresses, free text)
    DIGITS = "digits"  # number pad (dates as YYYYMMDD, years)
    CHOICE = "choice"  # big buttons, one per choice
    KATAKANA = "katakana"  # a text field's other keyboards (the resident switches):
    LATIN = "latin"        # カタカナ, and Latin capitals as on the 在留カード


TEXT_KEYBOARDS = (EntryMode.KANA, EntryMode.KATAKANA, EntryMode.LATIN)


class WipeReason(StrEnum):
    TIMEOUT = "timeout"
    CANCEL = "cancel"
    END = "end"


SEX_CHOICES: tuple[tuple[str, str], ...] = (("1", "男性"), ("2", "女性"), ("9", "回答しない"))


@dataclass(frozen=True)
class Notice:
    """A message for the resident: a Japanese msgid plus its placeholders."""

    msgid: str
    params: Mapping[str, object] = field(default_factory=dict)
    error: bool = False


@dataclass(frozen=True)
class Ticket:
    """What the ticket screen shows. `people_ahead`/`wait_minutes` are None when unknown
    (an offline ticket): the screen says so instead of guessing."""

    number: str
    service: str
    people_ahead: int | None
    wait_minutes: int | None
    offline: bool
    status_url: str | None = None
    printed: bool = False
    print_problem: str | None = None
    assistance: bool = False
    reference: str | None = None  # what a payment is recorded against ("ticket:1234")
    route: tuple[TicketStage, ...] = ()  # a life-event visit's stages, in order
    guide: tuple[GuideItem, ...] = ()    # its 手続き案内票 (here / elsewhere / online)


@dataclass(frozen=True)
class BookingInfo:
    """A booking checked in at the kiosk: what it was for (no personal data)."""

    service: str
    procedure: str | None = None
    life_event: str | None = None
    slot: str = ""          # YYYY-MM-DDTHH:MM, the office's time
    late: bool = False      # checked in after the window: queued as a walk-in


@dataclass(frozen=True)
class SessionSettings:
    """Per-visit accessibility and idle settings (from config/kiosk.toml [ui])."""

    idle_timeout_s: float = 90.0
    countdown_s: float = 20.0
    thanks_s: float = 8.0
    ticket_s: float = 45.0
    language: str = "ja"
    languages: tuple[str, ...] = ("ja", "ja-easy", "en", "zh-Hans", "ko", "vi", "pt")
    cashless: bool = False
    cashless_methods: tuple[str, ...] = ("code", "terminal")  # offered when cashless
    unverifiable: UnverifiablePolicy = UnverifiablePolicy.ACCEPT_AND_FLAG   # [card]
    streets: tuple[Street, ...] = ()   # the ward's street list (config/streets.toml)


def entry_mode(f: FormField) -> EntryMode:
    if f.kind in (FieldKind.DATE, FieldKind.YEAR):
        return EntryMode.DIGITS
    if f.kind in (FieldKind.SEX, FieldKind.CHOICE):
        return EntryMode.CHOICE
    return EntryMode.KANA


def field_choices(f: FormField) -> tuple[tuple[str, str], ...]:
    """(value, Japanese label) pairs for a CHOICE entry."""
    if f.kind is FieldKind.SEX:
        return SEX_CHOICES
    return tuple((c, c) for c in f.choices)


class SessionError(RuntimeError):
    """An action that does not fit the current step (a UI bug, never the resident's)."""


class Session:
    """One kiosk's resident session; reused visit after visit."""

    def __init__(self, catalog: Catalog, ward: str, settings: SessionSettings, now: float,
                 life_events: LifeEventCatalog | None = None) -> None:
        self.settings = settings
        self._use_catalog(catalog, life_events, ward)
        # A newer catalog offered during a visit: taken when the visit ends.
        self.next_catalog: tuple[Catalog, LifeEventCatalog | None] | None = None
        self.wipes: list[tuple[WipeReason, float]] = []
        self.touches = 0         # every touch since start-up
        self._reset(now)         # visit_touches: touches in the current visit

    def _use_catalog(self, catalog: Catalog, life_events: LifeEventCatalog | None,
                     ward: str) -> None:
        self.catalog = catalog
        self.life_events = life_events
        self.ward = catalog.ward(ward)
        self.procedures = catalog.procedures_in(ward)

    def offer_catalog(self, catalog: Catalog, life_events: LifeEventCatalog | None) -> bool:
        """A newer catalog (the back-office's, pulled at a sync). Taken at once between
        visits; during a visit it waits until the visit ends, so a resident finishes with
        the fees, forms and counters the visit began with. False (and ignored) when it no
        longer has this kiosk's ward."""
        if self.ward.code not in catalog.wards:
            return False
        self.next_catalog = (catalog, life_events)
        if self.step is Step.WELCOME:
            self._take_next_catalog()
        return True

    def _take_next_catalog(self) -> None:
        if self.next_catalog is not None:
            catalog, life_events = self.next_catalog
            self.next_catalog = None
            self._use_catalog(catalog, life_events, self.ward.code)

    # --- state -----------------------------------------------------------------------
    def _reset(self, now: float) -> None:
        if self.next_catalog is not None:
            self._take_next_catalog()   # the visit is over: a waiting catalog now applies
        s = self.settings
        self.step = Step.WELCOME
        self.language = s.language
        self.large_text = False
        self.high_contrast = False
        self.low_reach = False
        self.voice = False
        self.procedure: Procedure | None = None
        self.visit: LifeVisit | None = None  # a life event's plan and its forms as one
        self.identity: Identity | None = None
        self.authenticity: Authenticity | None = None
        self.values: dict[str, object] = {}
        self.pin_digits = ""
        self.tries_left: int | None = None
        self.code_b = CodeBEntry()             # 照合番号B while typed (personal data)
        self.code_b_tries: int | None = None
        self.card_key: CardKey | None = None
        self.notice: Notice | None = None
        self.entry_key: str | None = None
        self.entry_text = ""
        self.keyboard = EntryMode.KANA   # a text field's keyboard (TEXT_KEYBOARDS)
        self.entry_queue: list[str] = []
        self.entry_return = Step.CONFIRM
        self.pay_method: PayMethod | None = None
        self.paid = False
        self.ticket: Ticket | None = None
        self.code_entry = checkin.CodeEntry()  # a booking code while typed
        self.booking_code: str | None = None   # being checked in (a booked event: all visit)
        self.walk_in_offered = False           # the check-in failed: offer a walk-in ticket
        self.booking: BookingInfo | None = None  # the booking checked in (its ticket shown)
        self.last_activity = now
        self.step_since = now
        self.visit_touches = 0

    def _go(self, step: Step, now: float | None = None) -> None:
        self.step = step
        if now is not None:
            self.step_since = now

    def idle(self) -> bool:
        """No visit under way: the welcome screen. What may use the kiosk's devices or
        the kiosk itself meanwhile asks this: the health probe, the update agent's install
        and reboot (kiosk/fleet/agent.py)."""
        return self.step is Step.WELCOME

    def wipe(self, reason: WipeReason, now: float) -> None:
        """Forget everything about this resident, screen settings included."""
        self._reset(now)
        self.wipes.append((reason, now))

    @property
    def has_personal_data(self) -> bool:
        return bool(self.values or self.pin_digits or self.ticket or self.entry_text
                    or self.visit or not self.code_b.empty or self.code_entry.text
                    or self.booking_code or self.booking)

    @property
    def progress(self) -> Progress | None:
        """The step indicator model (current index, total, labels as msgids)."""
        if self.visit is None and (self.booking_code is not None or self.booking is not None):
            return None   # a check-in is one step: scan (or type), then the ticket
        life = self.visit is not None or self.step is Step.EVENT
        if self.procedure is not None:
            payment = self.fee() > 0
        elif self.visit is not None and self.visit.plan is not None:
            payment = any(self.catalog.procedure(c).fee_yen > 0
                          for c in self.visit.plan.procedures)
        else:
            payment = not life  # a single procedure not chosen yet may cost
        # A life event asks the fields no card holds; a single form only without a card.
        entry = life or self.identity is Identity.TYPED
        return progress_of(self.step.value, life_event=life, payment=payment, entry=entry)

    # --- time and touches --------------------------------------------------------------
    def touch(self, now: float) -> None:
        self.touches += 1
        self.visit_touches += 1
        self.last_activity = now

    def _limit(self) -> float | None:
        if self.step is Step.WELCOME:
            return None
        if self.step is Step.THANKS:
            return self.settings.thanks_s
        if self.step is Step.TICKET:
            return self.settings.ticket_s
        if self.step in (Step.READING, Step.ISSUING):
            return None  # the controller is busy; it finishes the step itself
        return self.settings.idle_timeout_s

    def remaining(self, now: float) -> float | None:
        limit = self._limit()
        if limit is None:
            return None
        since = max(self.last_activity, self.step_since)
        return max(0.0, since + limit - now)

    def countdown(self, now: float) -> int | None:
        """Seconds to show in the visible countdown, or None while there is time."""
        left = self.remaining(now)
        if left is None or self.step in (Step.THANKS, Step.TICKET):
            return None
        return int(left + 0.999) if left <= self.settings.countdown_s else None

    def tick(self, now: float) -> WipeReason | None:
        """Call often; ends the visit when its time is up and says why."""
        left = self.remaining(now)
        if left is None or left > 0:
            return None
        if self.step is Step.TICKET:
            self._go(Step.THANKS, now)
            return None
        reason = WipeReason.END if self.step is Step.THANKS else WipeReason.TIMEOUT
        self.wipe(reason, now)
        return reason

    # --- welcome -----------------------------------------------------------------------
    def set_language(self, code: str) -> None:
        if code not in self.settings.languages:
            raise SessionError(f"language {code!r} is not offered")
        self.language = code

    def toggle(self, option: str) -> None:
        if option not in ("large_text", "high_contrast", "low_reach", "voice"):
            raise SessionError(f"unknown option {option!r}")
        setattr(self, option, not getattr(self, option))

    def start(self, now: float) -> None:
        self._expect(Step.WELCOME)
        self._go(Step.PROCEDURE, now)

    # --- check-in of a booking (予約の方; kiosk.domain.checkin) ----------------------------
    def choose_check_in(self, now: float) -> None:
        self._expect(Step.WELCOME)
        self._fresh_entry(Step.CHECK_IN, now)

    def _fresh_entry(self, step: Step, now: float) -> None:
        self.code_entry.clear()
        self.walk_in_offered = False
        self.notice = None
        self._go(step, now)

    def checkin_press(self, key: str) -> None:
        self._expect(Step.CHECK_IN)
        self.code_entry.press(key)

    def checkin_back(self) -> None:
        self._expect(Step.CHECK_IN)
        self.code_entry.back()

    def take_check_in(self, now: float) -> None:
        """The typed code: complete → check it in (ISSUING), else say what is missing."""
        self._expect(Step.CHECK_IN)
        code = self.code_entry.code()
        if code is None:
            self._refused(checkin.INCOMPLETE)
            return
        self._check_in(code, now)

    def code_scanned(self, text: str, now: float) -> bool:
        """A code from the scanner, read in the background: taken on the welcome and the
        check-in screens (on the welcome screen it starts the check-in by itself), else
        ignored (False). A QR that is no booking's says so."""
        if self.step not in (Step.WELCOME, Step.CHECK_IN):
            return False
        if self.step is Step.WELCOME:
            self.choose_check_in(now)
        code = normal_code(text)
        if code is None:
            self._refused(checkin.NOT_A_BOOKING)
            return True
        self.code_entry.clear()
        self._check_in(code, now)
        return True

    def _check_in(self, code: str, now: float) -> None:
        self.booking_code = code
        self.walk_in_offered = False
        self.notice = None
        self._go(Step.ISSUING, now)

    def _refused(self, why: checkin.Refusal) -> None:
        self.notice = Notice(why.msgid, why.params, error=True)
        self.walk_in_offered = why.walk_in

    def check_in_refused(self, why: checkin.Refusal, now: float) -> None:
        """The back-office refused the code, or could not be reached: back to the
        check-in screen with the reason (and a walk-in ticket offered where it helps)."""
        self._expect(Step.ISSUING)
        self.booking_code = None
        self.code_entry.clear()
        self._refused(why)
        self._go(Step.CHECK_IN, now)

    def knows_event(self, code: str | None) -> bool:
        """The kiosk can fill this life event's forms (a booking for it: forms first)."""
        return code is not None and any(e.code == code for e in self.events())

    def checked_in(self, ticket: Ticket | None, booking: BookingInfo, now: float) -> None:
        """The booking's queue ticket: shown (and printed) like a walk-in's. No ticket
        yet: a booked life event — straight to its questions and list (no menu, no event
        to choose), then the card read and its forms; the ticket comes with them."""
        self._expect(Step.ISSUING)
        self.booking = booking
        if ticket is None:
            if booking.life_event is None or not self.knows_event(booking.life_event):
                raise SessionError("no ticket, and no life event to fill the forms of")
            self._begin_event(booking.life_event, now)
            return
        self.booking_code = None
        self.ticket_issued(ticket, now)
        if booking.late:
            self.notice = Notice("予約の時刻を過ぎていたため、予約なしの順番でお呼びします。")

    def checked_in_as_walk_in(self, ticket: Ticket, now: float) -> None:
        """A booked event's forms went as a walk-in's visit: its check-in failed at the
        end (offline, or the window closed meanwhile); nothing typed is lost."""
        self.booking_code = None
        self.ticket_issued(ticket, now)
        self.notice = Notice("予約を確認できなかったため、予約なしの番号札を発行しました。")

    def walk_in(self, now: float) -> None:
        """After a failed check-in: a walk-in ticket, through the procedure menu."""
        self._expect(Step.CHECK_IN)
        self._fresh_entry(Step.PROCEDURE, now)

    # --- procedure ---------------------------------------------------------------------
    def groups(self) -> list[tuple[str, tuple[Procedure, ...]]]:
        order: dict[str, list[Procedure]] = {}
        for p in self.procedures:
            order.setdefault(p.group, []).append(p)
        return [(g, tuple(ps)) for g, ps in order.items()]

    def choose_procedure(self, code: str, now: float) -> None:
        self._expect(Step.PROCEDURE)
        self.procedure = next((p for p in self.procedures if p.code == code), None)
        if self.procedure is None:
            raise SessionError(f"procedure {code!r} is not offered in {self.ward.code}")
        self.values = {f.key: f.default for f in self.procedure.resident_fields
                       if f.default is not None}
        self._go(Step.IDENTITY, now)

    # --- life event: event → questions → plan (kiosk.domain.visit holds the state) ------
    def events(self) -> tuple[LifeEvent, ...]:
        return tuple(self.life_events.events.values()) if self.life_events else ()

    def choose_life_events(self, now: float) -> None:
        self._expect(Step.PROCEDURE)
        if not self.events():
            raise SessionError("no life events are configured")
        self._go(Step.EVENT, now)

    def choose_event(self, code: str, now: float) -> None:
        self._expect(Step.EVENT)
        self._begin_event(code, now)

    def _begin_event(self, code: str, now: float) -> None:
        event = next((e for e in self.events() if e.code == code), None)
        if event is None:
            raise SessionError(f"life event {code!r} is not configured")
        offered = frozenset(p.code for p in self.procedures)
        self.visit = LifeVisit(event, offered)
        if self.visit.question is None:
            self.visit.answer_none()
        self._go(Step.QUESTION if self.visit.plan is None else Step.PLAN, now)

    def answer(self, value: str, now: float) -> None:
        self._expect(Step.QUESTION)
        try:
            self._visit().answer(value)
        except ValueError as exc:
            raise SessionError(str(exc)) from None
        self._go(Step.PLAN if self._visit().plan is not None else Step.QUESTION, now)

    def add_item(self, code: str) -> None:
        """Add an item of the event (or any procedure offered here) to the list."""
        self._edit_plan(True, code)

    def drop_item(self, code: str) -> None:
        self._edit_plan(False, code)

    def _edit_plan(self, add: bool, code: str) -> None:
        self._expect(Step.PLAN)
        try:
            self._visit().edit(add, code, self.catalog)
        except ValueError as exc:
            raise SessionError(str(exc)) from None

    def accept_plan(self, now: float) -> None:
        """The list is right: one form for every procedure here, then identity."""
        v = self._visit()
        self._expect(Step.PLAN)
        assert v.plan is not None
        if not v.plan.procedures:
            self.notice = Notice("この窓口での手続きがありません。手続き案内票をお受け取り"
                                 "ください。", error=True)
            return
        v.form = VisitForm.build(v.plan, self.catalog)
        self.procedure = v.form.combined
        self.values = v.form.defaults()
        self.notice = None
        self._go(Step.IDENTITY, now)

    def _visit_back(self, now: float) -> None:
        v = self.visit
        if self.step is Step.IDENTITY and v is not None:
            v.form = None
            self.procedure = None
            self.values = {}
            self._go(Step.PLAN, now)
        elif self.step is Step.EVENT or v is None:
            self.visit = None
            self._go(Step.PROCEDURE, now)
        elif v.step_back():
            self._go(Step.QUESTION, now)
        else:
            self.visit = None
            self._go(Step.EVENT, now)

    def _visit(self) -> LifeVisit:
        if self.visit is None:
            raise SessionError("no life event chosen yet")
        return self.visit

    # --- identity: card ------------------------------------------------------------------
    def choose_card(self, now: float) -> None:
        self._expect(Step.IDENTITY)
        self.notice = None
        self._go(Step.CARD, now)

    def card_present(self, tries_left: int, now: float) -> None:
        self._expect(Step.CARD)
        self.tries_left = tries_left
        self.pin_digits = ""
        self.notice = self._pin_notice() if tries_left < SAFE_TRIES else None
        self._go(Step.PIN, now)

    def card_problem(self, msgid: str, now: float,
                     params: Mapping[str, object] | None = None) -> None:
        """The card could not be used (not a My Number card, removed, reader fault)."""
        self._card_notice(msgid, params)
        self._go(Step.CARD if self.step in (Step.CARD, Step.PIN, Step.CODE_B)
                 else Step.IDENTITY, now)

    def card_failed(self, msgid: str, now: float,
                    params: Mapping[str, object] | None = None) -> None:
        """Reading or verifying stopped part-way: the resident places the card again."""
        self._expect(Step.CARD, Step.PIN, Step.CODE_B, Step.READING)
        self._card_notice(msgid, params)
        self._go(Step.CARD, now)

    def _card_notice(self, msgid: str, params: Mapping[str, object] | None) -> None:
        self.notice = Notice(msgid, dict(params or {}), error=True)
        self.pin_digits = ""
        self.code_b.clear()

    @property
    def pin_locked(self) -> bool:
        """True when sending a PIN could block the card: the kiosk refuses."""
        return self.tries_left is not None and self.tries_left < SAFE_TRIES

    def _pin_notice(self) -> Notice:
        if self.tries_left == 0:   # no PIN on this card, or blocked: 照合番号B still opens it
            return Notice("このカードは暗証番号が使えません。"
                          "「暗証番号を忘れた方・暗証番号のないカード」から進めます。", error=True)
        return Notice("暗証番号の残り回数が1回以下のため、この機械では確認できません。"
                      "カードなしで進むか、職員をお呼びください。", error=True)

    def pin_press(self, digit: str) -> None:
        self._expect(Step.PIN)
        if len(digit) == 1 and digit.isdigit() and len(self.pin_digits) < PIN_LENGTH \
                and not self.pin_locked:
            self.pin_digits += digit

    def pin_back(self) -> None:
        self.pin_digits = self.pin_digits[:-1]

    def take_pin(self) -> str | None:
        """Hand the typed PIN to the controller (once) when it is safe to send."""
        self._expect(Step.PIN)
        if self.pin_locked:
            self.notice = self._pin_notice()
            self.pin_digits = ""
            return None
        if len(self.pin_digits) != PIN_LENGTH:
            self.notice = Notice("暗証番号は数字4けたです。", error=True)
            return None
        pin, self.pin_digits = self.pin_digits, ""
        return pin

    def pin_result(self, ok: bool, tries_left: int | None, now: float) -> None:
        self._expect(Step.PIN)
        self.pin_digits = ""
        if ok:
            self.notice = None
            self.tries_left = None
            self.card_key = CardKey.PIN
            self._go(Step.READING, now)
            return
        self.tries_left = tries_left
        if self.pin_locked:
            self.notice = self._pin_notice()
        else:
            self.notice = Notice("暗証番号が違います。残り{tries}回です。",
                                 {"tries": tries_left}, error=True)

    def card_read(self, holder: Mapping[str, str], my_number: MyNumberCheck | None,
                  authenticity: Authenticity, now: float) -> None:
        """The basic four (and, only for forms that carry it, the number's check)."""
        self._expect(Step.READING)
        p = self._procedure()
        if not card_check.accepted(authenticity, self.settings.unverifiable):
            if authenticity is Authenticity.TAMPERED:
                self.notice = Notice("このカードは読み取れませんでした。職員をお呼びください。",
                                     error=True)
            else:   # not verifiable, and the ward's policy refuses such cards
                self.notice = Notice("このカードは確認できないため、この機械では使えません。"
                                     "カードなしで進むか、職員をお呼びください。", error=True)
            self.card_key = None
            self._go(Step.IDENTITY, now)
            return
        for f in p.card_fields:
            if f.key in holder:
                self.values[f.key] = holder[f.key]
        if p.needs_my_number and my_number is not None:
            for f in p.fields:
                if f.source is FieldSource.MY_NUMBER:
                    self.values[f.key] = my_number
        self.identity = Identity.CARD
        self.authenticity = authenticity
        self.notice = self._number_notice()
        self._card_done(now)

    def _card_done(self, now: float) -> None:
        """After a card read (any card path): a life-event visit asks each field no card
        holds once, then the one review; a single procedure goes to its review."""
        if self.visit is not None:
            self.entry_queue = [f.key for f in self.missing()]
            self._next_entry(now)
            return
        self._go(Step.CONFIRM, now)

    # --- identity: card opened with 照合番号B (no PIN, or a forgotten or blocked one) --------
    def choose_code_b(self, now: float) -> None:
        """「暗証番号を忘れた方・暗証番号のないカード」 beside the PIN pad."""
        self._expect(Step.PIN)
        self.pin_digits = ""
        self.code_b.clear()
        self.notice = None
        self._go(Step.CODE_B, now)

    def code_b_present(self, tries_left: int) -> None:
        """The card's 照合番号B counter, asked (costing no try) as the screen opens."""
        self._expect(Step.CODE_B)
        self.code_b_tries = tries_left
        if self.code_b_locked:
            self.notice = self._code_b_locked_notice()

    @property
    def code_b_locked(self) -> bool:
        """True when sending 照合番号B could use one of its last two tries: refused."""
        return self.code_b_tries is not None and self.code_b_tries < CODE_B_SAFE_TRIES

    def _code_b_locked_notice(self) -> Notice:
        if self.code_b_tries == 0:
            return Notice("このカードの照合はロックされています。"
                          "市区町村の窓口でお手続きください。", error=True)
        return Notice("カードの照合の残り回数が少ないため、この機械では確認できません。"
                      "カードなしで進むか、職員をお呼びください。", error=True)

    def code_b_era(self, era: str) -> None:
        self._expect(Step.CODE_B)
        try:
            self.code_b.choose_era(era)
        except ValueError as exc:
            raise SessionError(str(exc)) from None

    def code_b_focus(self, part: str) -> None:
        self._expect(Step.CODE_B)
        try:
            self.code_b.focus_on(part)
        except ValueError as exc:
            raise SessionError(str(exc)) from None

    def code_b_press(self, digit: str) -> None:
        self._expect(Step.CODE_B)
        if not self.code_b_locked:
            self.code_b.press(digit)

    def code_b_back(self) -> None:
        self._expect(Step.CODE_B)
        self.code_b.back()

    def take_code_b(self) -> str | None:
        """Hand 照合番号B to the controller (once), when complete and safe to send."""
        self._expect(Step.CODE_B)
        if self.code_b_locked:
            self.notice = self._code_b_locked_notice()
            self.code_b.clear()
            return None
        code = self.code_b.code()
        if code is None:
            self.notice = Notice(self.code_b.problem() or "", error=True)
            return None
        era = self.code_b.era
        self.code_b.clear()   # minimisation: gone from the session once handed over
        self.code_b.era = era  # the era alone says nothing; it spares a wrong-code retype
        return code

    def code_b_result(self, ok: bool, tries_left: int | None, now: float) -> None:
        self._expect(Step.CODE_B)
        if ok:
            self._forget_code_b()
            self.notice = None
            self.card_key = CardKey.CODE_B
            self._go(Step.READING, now)
            return
        self.code_b_tries = tries_left
        if self.code_b_locked:
            self.notice = self._code_b_locked_notice()
        else:
            self.notice = Notice("生年月日・有効期限の年・セキュリティコードのどれかが違います。"
                                 "残り{tries}回です。", {"tries": tries_left}, error=True)

    def _forget_code_b(self) -> None:
        self.code_b.clear()
        self.code_b_tries = None

    def _number_at_counter(self) -> bool:
        """照合番号B does not open the 個人番号: a form that needs it gets it at the counter."""
        if self.card_key is not CardKey.CODE_B:
            return False
        form = self._form()
        if form is not None:  # a life-event visit: any of its forms
            return any(p.needs_my_number for p in form.procedures)
        return self.procedure is not None and self.procedure.needs_my_number

    def _number_notice(self) -> Notice | None:
        if not self._number_at_counter():
            return None
        return Notice("暗証番号を使わない読み取りでは、マイナンバー（個人番号）は読み取れません。"
                      "窓口でご確認ください。")

    # --- identity: no card / ask staff ---------------------------------------------------
    def choose_no_card(self, now: float) -> None:
        self._expect(Step.IDENTITY, Step.CARD, Step.PIN, Step.CODE_B)
        p = self._procedure()
        self.identity = Identity.TYPED
        self.tries_left = None
        self.pin_digits = ""
        self._forget_code_b()
        self.notice = None
        queue = [f.key for f in p.card_fields] + [f.key for f in self.missing()
                                                  if f.source is FieldSource.RESIDENT]
        self.entry_queue = list(dict.fromkeys(queue))
        self._next_entry(now)

    def ask_staff(self, now: float) -> None:
        self._expect(Step.IDENTITY, Step.CARD, Step.PIN, Step.CODE_B)
        self.identity = Identity.ASSISTED
        self.pin_digits = ""
        self._forget_code_b()
        self.tries_left = None
        self.notice = None
        self.pay_method = PayMethod.COUNTER
        self._go(Step.ISSUING, now)

    # --- typing one field ----------------------------------------------------------------
    def _next_entry(self, now: float) -> None:
        if self.visit is not None and self.visit.form is not None:
            self.visit.form.apply_prefills(self.values)  # e.g. 世帯主 starts as the name
            self.entry_queue = [k for k in self.entry_queue if self.values.get(k) in (None, "")]
        if self.entry_queue:
            self._open_entry(self.entry_queue.pop(0), now)
        else:
            self.entry_key = None
            self._go(Step.CONFIRM, now)

    def _open_entry(self, key: str, now: float) -> None:
        f = self._procedure().field(key)
        self.entry_key = key
        value = self.values.get(key)
        text = value if isinstance(value, str) else ""
        self.entry_text = kana.digits_from_date(text) if f.kind is FieldKind.DATE else text
        if f.kind is FieldKind.YEAR and isinstance(value, int):
            self.entry_text = str(value)
        self.notice = None
        self._go(Step.ENTRY, now)

    def edit(self, key: str, now: float) -> None:
        """Open one field of the confirm screen for typing or choosing."""
        self._expect(Step.CONFIRM)
        if not self.editable(self._procedure().field(key)):
            raise SessionError(f"field {key!r} is not editable here")
        self.entry_queue = []
        self._open_entry(key, now)

    def entry_field(self) -> FormField:
        self._expect(Step.ENTRY)
        assert self.entry_key is not None
        return self._procedure().field(self.entry_key)

    def entry_press(self, key: str) -> None:
        f = self.entry_field()
        if entry_mode(f) is EntryMode.DIGITS:
            limit = 8 if f.kind is FieldKind.DATE else 4
            if key.isdigit() and len(key) == 1 and len(self.entry_text) < limit:
                self.entry_text += key
        else:
            self.entry_text = kana.press(self.entry_text, key)

    def entry_back(self) -> None:
        self.entry_text = kana.backspace(self.entry_text)

    def streets(self) -> tuple[Street, ...]:
        """Streets of the ward that fit what is typed in an address field."""
        if self.step is not Step.ENTRY or self.entry_field().kind is not FieldKind.ADDRESS:
            return ()
        return suggest(self.settings.streets, self.entry_text)

    def entry_pick(self, name: str) -> None:
        """Take a suggested street: its name replaces the typed reading; the 番地 follows."""
        if name not in {s.name for s in self.streets()}:
            raise SessionError(f"{name!r} is not a suggested street")
        self.entry_text = name

    def choose_keyboard(self, mode: str) -> None:
        """A text field's keyboard: ひらがな, カタカナ or ABC (kept for the next field)."""
        if entry_mode(self.entry_field()) is not EntryMode.KANA \
                or mode not in TEXT_KEYBOARDS:
            raise SessionError(f"no {mode!r} keyboard for this field")
        self.keyboard = EntryMode(mode)

    def entry_done(self, now: float, choice: str | None = None) -> None:
        """Accept the typed text (or the chosen value) and move to the next field."""
        f = self.entry_field()
        value: object
        if entry_mode(f) is EntryMode.CHOICE:
            allowed = [v for v, _ in field_choices(f)]
            if choice not in allowed:
                self.notice = Notice("えらんでください。", error=True)
                return
            value = choice
        elif f.kind is FieldKind.DATE and choice is not None:
            value = kana.date_from_digits(choice.replace("-", ""))  # a "today" button
            if value is None:
                raise SessionError(f"{choice!r} is not a date YYYY-MM-DD")
        elif f.kind is FieldKind.DATE:
            value = kana.date_from_digits(self.entry_text)
            if value is None:
                self.notice = Notice("年月日を8けたの数字で入れてください（例：19850307）。",
                                     error=True)
                return
        elif f.kind is FieldKind.YEAR:
            if len(self.entry_text) != 4:
                self.notice = Notice("年を4けたの数字で入れてください。", error=True)
                return
            value = int(self.entry_text)
        else:
            value = self.entry_text.strip("\u3000 ")
            if f.required and not value:
                self.notice = Notice("入力してください。", error=True)
                return
        self.values[f.key] = value
        self.entry_text = ""
        self._next_entry(now)

    # --- confirm -----------------------------------------------------------------------
    def editable(self, f: FormField) -> bool:
        if f.source is FieldSource.RESIDENT:
            return True
        return f.source is FieldSource.CARD and self.identity is Identity.TYPED

    def missing(self) -> list[FormField]:
        p = self._procedure()
        out = []
        for f in p.fields:
            if f.source is FieldSource.MY_NUMBER or not f.required:
                continue
            if self.identity is Identity.ASSISTED and f.source is not FieldSource.RESIDENT:
                continue
            value = self.values.get(f.key)
            if value is None or value == "":
                out.append(f)
        return out

    def set_count(self, key: str, delta: int) -> None:
        self._expect(Step.CONFIRM)
        f = self._procedure().field(key)
        if f.kind is not FieldKind.COUNT or f.source is not FieldSource.RESIDENT:
            raise SessionError(f"{key!r} is not a count the resident sets")
        current = self.values.get(key)
        n = (current if isinstance(current, int) else 1) + delta
        self.values[key] = max(1, min(n, f.max or 99))

    def toggle_flag(self, key: str, choice: str) -> None:
        self._expect(Step.CONFIRM)
        f = self._procedure().field(key)
        if f.kind is not FieldKind.FLAGS or choice not in f.choices:
            raise SessionError(f"{choice!r} is not an option of {key!r}")
        current = self.values.get(key)
        chosen = list(current) if isinstance(current, tuple | list) else []
        if choice in chosen:
            chosen.remove(choice)
        else:
            chosen.append(choice)
        self.values[key] = tuple(c for c in f.choices if c in chosen)

    def applications(self) -> tuple[Application, ...]:
        """Every form of the visit (one for a single procedure)."""
        form = self._form()
        if form is None:
            return (self.application(),)
        if self.identity is None:
            raise SessionError("no identity chosen yet")
        notes = ("assistance",) if self.identity is Identity.ASSISTED else ()
        return form.applications(self.values, self.identity, language=self.language,
                                 authenticity=self.authenticity, notes=notes,
                                 card_key=self.card_key if self.identity is Identity.CARD
                                 else None)

    def routed_request(self) -> RoutedRequest | None:
        """The route, forms and guide of a life-event visit's one ticket (else None)."""
        form = self._form()
        if self.visit is None or self.visit.plan is None or form is None:
            return None
        return RoutedRequest(self.visit.event.code, self.visit.plan.route(self.catalog),
                             self.applications(), self.visit.plan.guide)

    def application(self) -> Application:
        if self._form() is not None:  # the combined form is no procedure of the catalog
            raise SessionError("a life-event visit has several forms: routed_request()")
        p = self._procedure()
        if self.identity is None:
            raise SessionError("no identity chosen yet")
        notes: tuple[str, ...] = ("assistance",) if self.identity is Identity.ASSISTED else ()
        if self._number_at_counter():
            notes += ("my_number_at_counter",)
        return Application.build(p, self.values, self.identity, language=self.language,
                                 authenticity=self.authenticity, notes=notes,
                                 card_key=self.card_key if self.identity is Identity.CARD
                                 else None)

    def fee(self) -> int:
        """The fee as the form stands now (also before every required field is filled)."""
        form = self._form()
        if form is not None:
            return form.fee(self.values)
        copies = self.values.get("copies", 1)
        purpose = self.values.get("purpose")
        return self._procedure().fee(copies if isinstance(copies, int) else 1,
                                     purpose if isinstance(purpose, str) else None)

    def confirm(self, now: float) -> None:
        self._expect(Step.CONFIRM)
        missing = self.missing()
        if missing:
            self.notice = Notice("「{field}」を入力してください。", {"field": missing[0].label},
                                 error=True)
            return
        self.notice = None
        if self.fee() > 0:
            self._go(Step.PAYMENT, now)
        else:
            self.pay_method = PayMethod.COUNTER
            self._go(Step.ISSUING, now)

    # --- payment -----------------------------------------------------------------------
    def payment_choices(self) -> tuple[PayMethod, ...]:
        """The ONE choice of the payment screen: QR / terminal (when configured) / counter."""
        if not self.settings.cashless:
            return (PayMethod.COUNTER,)
        now_ = tuple(PayMethod(m) for m in self.settings.cashless_methods
                     if m in (PayMethod.CODE, PayMethod.TERMINAL))
        return (*now_, PayMethod.COUNTER)

    def choose_payment(self, method: PayMethod, now: float) -> None:
        """Either way the ticket is issued first: a payment is recorded against a ticket,
        so a failed or abandoned payment never costs the resident their place."""
        self._expect(Step.PAYMENT)
        if method.cashless and not self.settings.cashless:
            raise SessionError("cashless payment is not configured on this kiosk")
        if method in (PayMethod.CODE, PayMethod.TERMINAL) \
                and method not in self.payment_choices():
            raise SessionError(f"payment by {method.value} is not offered on this kiosk")
        self.pay_method = method
        self.paid = False
        self._go(Step.ISSUING, now)

    def payment_finished(self, paid: bool, now: float) -> None:
        """The cashless screen's result; not paid → the fee is paid at the counter."""
        self._expect(Step.CASHLESS)
        self.paid = paid
        if not paid:
            self.pay_method = PayMethod.COUNTER
            self.notice = Notice("お支払いは完了していません。手数料は窓口でお支払いください。")
        self._go(Step.TICKET, now)

    # --- ticket ------------------------------------------------------------------------
    def ticket_issued(self, ticket: Ticket, now: float) -> None:
        self._expect(Step.ISSUING)
        self.ticket = ticket
        self.notice = None
        cashless = self.pay_method is not None and self.pay_method.cashless
        self._go(Step.CASHLESS if cashless else Step.TICKET, now)

    def issue_failed(self, now: float) -> None:
        self._expect(Step.ISSUING)
        self.notice = Notice("番号札を発行できませんでした。職員をお呼びください。", error=True)
        self._go(Step.CONFIRM if self.identity is not Identity.ASSISTED else Step.IDENTITY, now)

    def finish(self, now: float) -> None:
        self._expect(Step.TICKET)
        self._go(Step.THANKS, now)

    # --- navigation ----------------------------------------------------------------------
    def back(self, now: float) -> None:
        previous = {
            Step.PROCEDURE: Step.WELCOME, Step.CHECK_IN: Step.WELCOME,
            Step.IDENTITY: Step.PROCEDURE,
            Step.CARD: Step.IDENTITY, Step.PIN: Step.IDENTITY, Step.CONFIRM: Step.IDENTITY,
            Step.CODE_B: Step.PIN,
            Step.PAYMENT: Step.CONFIRM,
        }
        self.notice = None
        self.pin_digits = ""
        self.code_b.clear()
        if self.step is Step.ENTRY:
            self.entry_text = ""
            self.entry_queue = []
            self.entry_key = None
            # A visit's card was read already: back to the review, not to a new read.
            read = self.visit is not None and self.identity is Identity.CARD
            self._go(Step.CONFIRM if read or (self.identity is Identity.TYPED
                     and self._card_fields_done()) else Step.IDENTITY, now)
            return
        if self.step in (Step.EVENT, Step.QUESTION, Step.PLAN) or (
                self.step is Step.IDENTITY and self.visit is not None):
            self._visit_back(now)
            return
        if self.step not in previous:
            raise SessionError(f"no way back from {self.step}")
        target = previous[self.step]
        if self.step in (Step.CONFIRM, Step.CARD, Step.PIN):
            # Leaving the identity part: forget what the card or keyboard gave.
            p = self._procedure()
            for f in p.fields:
                if f.source is not FieldSource.RESIDENT:
                    self.values.pop(f.key, None)
            self.identity = None
            self.authenticity = None
            self.tries_left = None
            self._forget_code_b()
        if target is Step.WELCOME:
            self.wipe(WipeReason.CANCEL, now)
            return
        if target is Step.PROCEDURE:
            self.procedure = None
            self.values = {}
        self._go(target, now)

    def _card_fields_done(self) -> bool:
        return all(self.values.get(f.key) not in (None, "")
                   for f in self._procedure().card_fields)

    def cancel(self, now: float) -> None:
        self.wipe(WipeReason.CANCEL, now)

    # --- helpers -----------------------------------------------------------------------
    def _form(self) -> VisitForm | None:
        return self.visit.form if self.visit is not None else None

    def _procedure(self) -> Procedure:
        if self.procedure is None:
            raise SessionError("no procedure chosen yet")
        return self.procedure

    def _expect(self, *steps: Step) -> None:
        if self.step not in steps:
            raise SessionError(f"not possible at step {self.step}: expected "
                               f"{' or '.join(s.value for s in steps)}")
