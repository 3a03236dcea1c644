"""Response models of the pages a resident opens from home (issue #19): congestion now.
Numbers, codes and catalog names only (extra keys refused, like schemas.py)."""

from __future__ import annotations

from typing import Literal

from kiosk.backoffice.schemas import Out, Ticket

Level = Literal["free", "somewhat", "busy"]


class HourCell(Out):
    hour: int
    issued: float | None          # tickets issued in the hour (a mean over days for history)
    mean_wait_seconds: int | None
    level: Level | None


class WeekDay(Out):
    weekday: int                  # Monday = 0
    hours: list[HourCell]


class CongestionService(Out):
    service: str
    name: str
    waiting: int
    estimated_wait_seconds: int
    counters_open: int
    level: Level
    today: list[HourCell]
    forecast: list[HourCell]
    week: list[WeekDay]


class Levels(Out):
    somewhat_busy_minutes: int
    busy_minutes: int


class Congestion(Out):
    ward: str
    name: str
    open_now: bool
    generated_at: str | None
    history_weeks: int
    history_days: int
    hours: list[int]
    levels: Levels
    services: list[CongestionService]


# --- appointments (engine/appointments.py): codes, catalog names, times; nobody's name ---

class OfferProcedure(Out):
    code: str
    name: str


class OfferService(Out):
    service: str
    name: str
    slot_minutes: int
    days_ahead: int
    procedures: list[OfferProcedure]


class OfferLifeEvent(Out):
    code: str
    name: str
    service: str        # booked at this counter, the first of its route taking bookings


class AppointmentOffer(Out):
    ward: str
    name: str
    services: list[OfferService]
    life_events: list[OfferLifeEvent]


class BookableDay(Out):
    day: str
    weekday: int
    free: int


class BookableDays(Out):
    ward: str
    service: str
    days: list[BookableDay]


class Slot(Out):
    start: str          # YYYY-MM-DDTHH:MM, the office's time
    free: int
    capacity: int


class DaySlots(Out):
    ward: str
    service: str
    day: str
    open: bool
    slots: list[Slot]


class Appointment(Out):
    code: str
    ward: str
    service: str
    procedure: str | None
    life_event: str | None
    slot: str
    status: str
    hold_until: str | None


class StaffAppointment(Appointment):
    ticket_id: int | None


class DayAppointments(Out):
    ward: str
    day: str
    appointments: list[StaffAppointment]


class CheckIn(Out):
    appointment: Appointment
    late: bool                # checked in after the window: a walk-in ticket (the late rule)
    # None: a life-event booking whose kiosk fills the forms first (`forms_first`); the
    # ticket comes when it sends them (the booking is unchanged until then)
    ticket: Ticket | None


class RemoteService(Out):
    service: str
    name: str
    available: bool
    # why not: ward_closed | wait_short | hour_full | not_offered (kiosk/domain/remote.py)
    reason: str | None
    waiting: int              # waiting tickets and places from home now
    estimated_wait_seconds: int
    left_this_hour: int


class RemoteOffer(Out):
    ward: str
    name: str
    open_now: bool
    check_in_minutes: int     # check in within this after "almost your turn"
    almost_ahead: int         # "almost your turn": at most this many people ahead
    services: list[RemoteService]


class RemoteTicketRef(Out):
    number: str
    status_url: str


class RemotePlace(Out):
    code: str
    ward: str
    service: str
    status: Literal["waiting", "checked_in", "no_show", "cancelled"]
    taken_at: str
    people_ahead: int | None
    estimated_wait_seconds: int | None
    almost: bool
    check_in_by: str | None   # set once it is almost its turn
    ticket: RemoteTicketRef | None


class RemoteCheckIn(Out):
    remote: RemotePlace
    late: bool                # always false: the same shape as CheckIn
    ticket: Ticket


class NotifyState(Out):
    """What a phone page opted into (by its status token) and what the office offers."""
    push: bool
    email: bool
    push_available: bool
    email_available: bool
    ahead: int                         # sent at this many people ahead ("N ahead";
                                       # a place: [remote] almost_ahead)
    vapid_public_key: str | None       # the applicationServerKey (base64url), if push is on


class NotifySubscription(Out):
    channel: Literal["push", "email"]
    subscribed: bool
    ahead: int


class NotifyCounts(Out):
    """A ward's notifications by state and channel (numbers only): sent, still pending,
    given up after the retries (failed), dropped (the subscription was gone)."""
    ward: str
    counts: dict[str, dict[str, int]]
