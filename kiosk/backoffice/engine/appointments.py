"""Appointments (予約, issue #19): the bookable days and slots of a service, a slot held
while the resident chooses, the booking by code, cancel and move, and check-in at the
kiosk — which issues the queue ticket under the fairness rule (docs/home.md):

    an appointment queues as if it had arrived `[appointments] lead_minutes` before its
    slot (or when it checks in, if earlier), in the same rank as walk-ins.

So it is called near its time, and it overtakes only the walk-ins who came after that
moment: a walk-in is delayed by at most the appointments whose slots start within
lead_minutes (+ the check-in lateness allowed) of its own arrival — a bounded number,
capacity × ⌈(lead + late) / slot⌉, each one service time divided by the counters.

Capacity per slot is counted in `appointment_slots` by one conditional increment, so
several processes cannot overbook; an expired hold gives its place back when next seen.
No personal data: a contact and the client address are kept only as keyed hashes.
(Over 400 lines: one resource's rules, read and write, kept together.)
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import secrets
from datetime import date, datetime, time, timedelta
from typing import Any

import holidays
from sqlalchemy import Connection, and_, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from kiosk.backoffice import hash_key
from kiosk.backoffice import models as m
from kiosk.backoffice.clock import iso, local, office_day, to_utc, utcnow
from kiosk.backoffice.context import Backoffice
from kiosk.backoffice.db import reading, writing
from kiosk.backoffice.engine import issuing, notify, visits
from kiosk.backoffice.engine.errors import Forbidden, NotFound, conflict, invalid
from kiosk.backoffice.engine.lookups import people_ahead, ward_of
from kiosk.backoffice.engine.shapes import ticket_json
from kiosk.backoffice.principal import Principal
from kiosk.domain.appointments import (
    AppointmentRules,
    Calendar,
    bookable,
    new_code,
    normal_code,
    queued_at,
    slot_starts,
)
from kiosk.domain.catalog import Ward

A = m.appointments
S = m.appointment_slots
T = m.tickets
TAKING = ("held", "booked", "checked_in")  # what counts against a slot's capacity
log = logging.getLogger(__name__)


@functools.cache
def _national(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("JP", years=year))


class _Holidays:
    """Japan's national holidays (祝日, 振替休日, 国民の休日) from the `holidays` library."""

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and day in _national(day.year)


def calendar(bo: Backoffice, ward: Ward) -> Calendar:
    s = bo.settings.appointments
    return Calendar(ward.hours, _Holidays(), s.closures.get(ward.code, ()),
                    s.openings.get(ward.code, ()))


def rules_of(bo: Backoffice, ward: Ward, service: str) -> AppointmentRules:
    svc = bo.catalog.services.get(service)
    if svc is None or svc.appointments is None or service not in ward.services:
        raise NotFound("no_appointments", f"{ward.code} takes no appointments for {service!r}")
    return svc.appointments


def _hash(kind: str, value: str) -> str:
    return hmac.new(hash_key.current(), f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


def address_hash(address: str) -> str:
    """A client's network address → its keyed hash (the limits per address)."""
    return _hash("address", address)


def contact_hash(contact: str) -> str:
    """An e-mail (case-insensitive) or a phone number (digits only) → its keyed hash."""
    text = contact.strip().lower()
    if "@" not in text:
        text = "".join(ch for ch in text if ch.isdigit())
    if len(text) < 6:
        raise invalid("validation_error", "a contact is an e-mail address or a phone number",
                      field="contact")
    return _hash("contact", text)


# ------------------------------------------------------------------------------ reading
def offer(bo: Backoffice, ward_code: str) -> dict[str, Any]:
    """The ward's services that take appointments, with their procedures."""
    ward = ward_of(bo, ward_code)
    services = []
    for code in ward.services:
        svc = bo.catalog.services[code]
        if svc.appointments is None:
            continue
        services.append({
            "service": code, "name": svc.name, "slot_minutes": svc.appointments.slot_minutes,
            "days_ahead": svc.appointments.days_ahead,
            "procedures": [{"code": p.code, "name": p.name}
                           for p in bo.catalog.procedures_in(ward.code) if p.service == code]})
    return {"ward": ward.code, "name": ward.name, "services": services,
            "life_events": _life_events(bo, ward, {str(s["service"]) for s in services})}


def _life_events(bo: Backoffice, ward: Ward, booking: set[str]) -> list[dict[str, str]]:
    """Life events (config/life_events.toml) bookable at their first counter on the route
    that takes appointments: the visit is booked there."""
    events = visits.life_events(bo)
    out = []
    for event in events.events.values():
        here = {bo.catalog.procedures[i.procedure].service for i in event.items
                if i.procedure is not None and i.procedure in bo.catalog.procedures}
        order = event.route_order or events.route_order
        first = next((s for s in order if s in here and s in booking), None)
        if first is not None:
            out.append({"code": event.code, "name": event.name, "service": first})
    return out


def _slot_utc(bo: Backoffice, day: date, at: time) -> datetime:
    return to_utc(datetime.combine(day, at, tzinfo=bo.tz))


def _taken(conn: Connection, ward: str, service: str, first: datetime, last: datetime,
           now: datetime) -> dict[datetime, int]:
    live = and_(A.c.ward == ward, A.c.service == service, A.c.slot_at >= first,
                A.c.slot_at <= last, A.c.status.in_(TAKING),
                (A.c.status != "held") | (A.c.hold_until > now))
    return {r.slot_at: int(r.n) for r in conn.execute(
        select(A.c.slot_at, func.count().label("n")).where(live).group_by(A.c.slot_at))}


def slots(bo: Backoffice, ward_code: str, service: str, day: date,
          now: datetime | None = None) -> dict[str, Any]:
    """A day's slots with their free places ([] when the ward is closed that day)."""
    now = now or utcnow()
    ward = ward_of(bo, ward_code)
    rules = rules_of(bo, ward, service)
    today = office_day(now, bo.tz)
    cap = rules.capacity(bo.catalog.services[service].default_service_minutes)
    out: list[dict[str, Any]] = []
    open_ = (calendar(bo, ward).open_on(day)
             and today <= day <= today + timedelta(days=rules.days_ahead))
    if open_:
        starts = [_slot_utc(bo, day, at) for at in slot_starts(day, ward.hours, rules)]
        with reading(bo.engine) as conn:
            taken = _taken(conn, ward.code, service, starts[0], starts[-1], now) \
                if starts else {}
        here = local(now, bo.tz)
        for at in starts:
            if bookable(local(at, bo.tz), here, rules):  # type: ignore[arg-type]
                out.append({"start": _local_text(bo, at), "free": max(cap - taken.get(at, 0), 0),
                            "capacity": cap})
    return {"ward": ward.code, "service": service, "day": day.isoformat(), "open": open_,
            "slots": out}


def days(bo: Backoffice, ward_code: str, service: str,
         now: datetime | None = None) -> dict[str, Any]:
    """The bookable days ahead and how many places each has left."""
    now = now or utcnow()
    ward = ward_of(bo, ward_code)
    rules = rules_of(bo, ward, service)
    out = []
    for day in calendar(bo, ward).days(office_day(now, bo.tz), rules):
        free = sum(s["free"] for s in slots(bo, ward.code, service, day, now)["slots"])
        out.append({"day": day.isoformat(), "weekday": day.weekday(), "free": free})
    return {"ward": ward.code, "service": service, "days": out}


def _local_text(bo: Backoffice, at: datetime) -> str:
    return (iso(at, bo.tz) or "")[:16]  # YYYY-MM-DDTHH:MM, the office's time


def parse_slot(bo: Backoffice, text: str) -> datetime:
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise invalid("validation_error", "slot is YYYY-MM-DDTHH:MM", field="slot") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=bo.tz)
    return to_utc(when)


def view(bo: Backoffice, row: Any) -> dict[str, Any]:
    """What the resident's page shows about a booking: no personal data."""
    return {"code": row.code, "ward": row.ward, "service": row.service,
            "procedure": row.procedure, "life_event": row.life_event,
            "slot": _local_text(bo, row.slot_at), "status": row.status,
            "hold_until": iso(row.hold_until, bo.tz) if row.status == "held" else None}


def find(bo: Backoffice, code: str, conn: Connection | None = None) -> Any:
    normal = normal_code(code)
    if normal is None:
        raise NotFound("no_booking", "no booking has that code")
    query = select(A).where(A.c.code == normal)
    if conn is not None:
        row = conn.execute(query.with_for_update()).first()
    else:
        with reading(bo.engine) as c:
            row = c.execute(query).first()
    if row is None:
        raise NotFound("no_booking", "no booking has that code")
    return row


# ------------------------------------------------------------------------------ writing
def _take(conn: Connection, bo: Backoffice, ward: str, service: str, at: datetime,
          cap: int, now: datetime) -> None:
    """One place of the slot, or 409 slot_full. Expired holds give theirs back first."""
    freed = conn.execute(update(A).where(
        A.c.ward == ward, A.c.service == service, A.c.slot_at == at, A.c.status == "held",
        A.c.hold_until <= now).values(status="expired")).rowcount
    if freed:
        conn.execute(update(S).where(S.c.ward == ward, S.c.service == service,
                                     S.c.slot_at == at).values(taken=S.c.taken - freed))
    upsert = pg_insert if bo.is_pg else sqlite_insert
    stmt = upsert(S).values(ward=ward, service=service, slot_at=at, taken=1) \
        .on_conflict_do_update(index_elements=[S.c.ward, S.c.service, S.c.slot_at],
                               set_={"taken": S.c.taken + 1}, where=S.c.taken < cap) \
        .returning(S.c.taken)
    if conn.execute(stmt).scalar() is None:
        raise conflict("slot_full", "that slot has just been taken; please choose another")


def _give_back(conn: Connection, row: Any) -> None:
    conn.execute(update(S).where(S.c.ward == row.ward, S.c.service == row.service,
                                 S.c.slot_at == row.slot_at).values(taken=S.c.taken - 1))


def _check_slot(bo: Backoffice, ward: Ward, service: str, at: datetime,
                now: datetime) -> AppointmentRules:
    rules = rules_of(bo, ward, service)
    here = local(at, bo.tz)
    assert here is not None
    today = office_day(now, bo.tz)
    if (here.time() not in slot_starts(here.date(), ward.hours, rules)
            or not calendar(bo, ward).open_on(here.date())
            or here.date() > today + timedelta(days=rules.days_ahead)):
        raise invalid("no_such_slot", "that is not a slot of this service", field="slot")
    if not bookable(here, local(now, bo.tz), rules):  # type: ignore[arg-type]
        raise conflict("too_late", "booking for that slot has closed")
    return rules


def hold(bo: Backoffice, ward_code: str, service: str, slot: str, *, address: str,
         language: str = "ja", procedure: str | None = None, life_event: str | None = None,
         now: datetime | None = None) -> dict[str, Any]:
    """Hold a place for `[appointments] hold_minutes` while the resident confirms."""
    now = now or utcnow()
    ward = ward_of(bo, ward_code)
    at = parse_slot(bo, slot)
    rules = _check_slot(bo, ward, service, at, now)
    if procedure is not None and (procedure not in bo.catalog.procedures
                                  or bo.catalog.procedures[procedure].service != service):
        raise invalid("validation_error", f"{procedure!r} is not a procedure of {service}",
                      field="procedure")
    if life_event is not None and life_event not in visits.life_events(bo).events:
        raise invalid("validation_error", f"no life event {life_event!r}", field="life_event")
    s = bo.settings.appointments
    address_key = address_hash(address)
    day_start = to_utc(datetime.combine(office_day(now, bo.tz), time(), tzinfo=bo.tz))
    cap = rules.capacity(bo.catalog.services[service].default_service_minutes)
    with writing(bo.engine) as conn:
        made = conn.execute(select(func.count()).select_from(A).where(
            A.c.address_hash == address_key, A.c.created_at >= day_start)).scalar_one()
        if made >= s.max_per_address:
            raise conflict("too_many_bookings", "too many bookings from this network today")
        _take(conn, bo, ward.code, service, at, cap, now)
        code = new_code(secrets.randbelow)
        conn.execute(A.insert().values(
            code=code, ward=ward.code, service=service, procedure=procedure,
            life_event=life_event, language=language, day=office_day(at, bo.tz),
            slot_at=at, status="held", hold_until=now + timedelta(minutes=s.hold_minutes),
            address_hash=address_key, created_at=now))
        row = conn.execute(select(A).where(A.c.code == code)).one()
    return view(bo, row)


def confirm(bo: Backoffice, code: str, contact: str,
            now: datetime | None = None) -> dict[str, Any]:
    """A held place becomes a booking; at most `max_per_contact` active ones per contact."""
    now = now or utcnow()
    key = contact_hash(contact)
    with writing(bo.engine) as conn:
        row = find(bo, code, conn)
        if row.status == "booked":
            return view(bo, row)
        if row.status != "held" or row.hold_until <= now:
            raise conflict("hold_expired", "the held slot was given up; please choose again")
        active = conn.execute(select(func.count()).select_from(A).where(
            A.c.contact_hash == key, A.c.status == "booked", A.c.slot_at > now)).scalar_one()
        if active >= bo.settings.appointments.max_per_contact:
            raise conflict("too_many_bookings", "this contact already has the most bookings "
                           "allowed; cancel one first")
        conn.execute(update(A).where(A.c.id == row.id).values(
            status="booked", hold_until=None, contact_hash=key))
        row = conn.execute(select(A).where(A.c.id == row.id)).one()
        notify.on_booking(bo, conn, row, contact)  # an e-mail contact: confirmation, reminder
    return view(bo, row)


def cancel(bo: Backoffice, code: str) -> dict[str, Any]:
    with writing(bo.engine) as conn:
        row = find(bo, code, conn)
        if row.status not in ("held", "booked"):
            raise conflict("not_cancellable", f"this booking is {row.status}")
        conn.execute(update(A).where(A.c.id == row.id).values(status="cancelled",
                                                                hold_until=None))
        _give_back(conn, row)
        row = conn.execute(select(A).where(A.c.id == row.id)).one()
    return view(bo, row)


def move(bo: Backoffice, code: str, slot: str, now: datetime | None = None) -> dict[str, Any]:
    """The same booking (code, contact) at another slot of the same service."""
    now = now or utcnow()
    row = find(bo, code)
    ward = ward_of(bo, row.ward)
    at = parse_slot(bo, slot)
    rules = _check_slot(bo, ward, row.service, at, now)
    cap = rules.capacity(bo.catalog.services[row.service].default_service_minutes)
    with writing(bo.engine) as conn:
        row = find(bo, code, conn)
        if row.status != "booked":
            raise conflict("not_movable", f"this booking is {row.status}")
        if at != row.slot_at:
            _take(conn, bo, row.ward, row.service, at, cap, now)
            _give_back(conn, row)
            conn.execute(update(A).where(A.c.id == row.id).values(
                slot_at=at, day=office_day(at, bo.tz)))
        row = conn.execute(select(A).where(A.c.id == row.id)).one()
    return view(bo, row)


def check_in(bo: Backoffice, principal: Principal, code: str, base_url: str,
             now: datetime | None = None, *, visit: dict[str, Any] | None = None,
             forms_first: bool = False) -> dict[str, Any]:
    """At the kiosk of the booking's ward, within the check-in window: the queue ticket,
    queued by the fairness rule. Too late (after check_in_late_minutes): a walk-in ticket
    (the late rule). Scanning again gives the same ticket.

    A life-event booking at a kiosk that fills the event's forms first (`forms_first`):
    the checks only, no ticket yet (the booking unchanged); the kiosk then sends the
    visit (`visit`: route, applications, guide, life_event as TicketRequest takes them)
    and the ticket is the routed visit's."""
    now = now or utcnow()
    s = bo.settings.appointments
    row = find(bo, code)
    if principal.ward is not None and principal.ward != row.ward:
        # Denied (403), naming the booking's ward so the kiosk can send the resident
        # there: the code is a 50-bit secret, its holder may know where it was booked.
        raise Forbidden("wrong_ward", "this booking is at another ward office",
                        ward=row.ward)
    if row.status in ("checked_in", "late") and row.ticket_id is not None:
        return _ticket(bo, row, base_url, late=row.status == "late", now=now)
    if row.status != "booked":
        raise conflict("not_bookable", f"this booking is {row.status}")
    if now < row.slot_at - timedelta(minutes=s.check_in_early_minutes):
        raise conflict("too_early", "check-in opens "
                       f"{s.check_in_early_minutes} minutes before the slot",
                       slot=_local_text(bo, row.slot_at),
                       opens=_local_text(bo, row.slot_at
                                         - timedelta(minutes=s.check_in_early_minutes)))
    late = now > row.slot_at + timedelta(minutes=s.check_in_late_minutes)
    if now > row.slot_at + timedelta(minutes=s.no_show_minutes) or (
            office_day(now, bo.tz) != row.day):
        raise conflict("booking_missed", "the booking's time has passed; "
                       "please take a ticket as a walk-in")
    if forms_first and visit is None and row.life_event is not None:
        return {"appointment": view(bo, row), "late": late, "ticket": None}
    priority = "normal" if late else "appointment"
    req = (issuing.TicketRequest(ward=row.ward, service=None, procedure=None,
                                 application=None, priority=priority,
                                 language=row.language, **visit) if visit is not None
           else issuing.TicketRequest(ward=row.ward, service=row.service,
                                      procedure=row.procedure, application=None,
                                      priority=priority, language=row.language))
    ticket, _created = issuing.issue(bo, principal, req, f"appointment-{row.code}", base_url)
    with writing(bo.engine) as conn:
        if not late:  # the fairness rule: in the walk-ins' rank, at slot - lead at the latest
            queued = queued_at(now, row.slot_at, s.lead_minutes)
            conn.execute(update(T).where(T.c.id == ticket["id"], T.c.status == "waiting")
                         .values(rank=bo.settings.queue.priority_rank["normal"],
                                 queue_at=queued))
        conn.execute(update(A).where(A.c.id == row.id).values(
            status="late" if late else "checked_in", checked_in_at=now,
            ticket_id=ticket["id"]))
        row = conn.execute(select(A).where(A.c.id == row.id)).one()
    return _ticket(bo, row, base_url, late=late, now=now)


def _ticket(bo: Backoffice, row: Any, base_url: str, *, late: bool,
            now: datetime) -> dict[str, Any]:
    with reading(bo.engine) as conn:
        ticket = conn.execute(select(T).where(T.c.id == row.ticket_id)).one()
        ahead = people_ahead(conn, ticket) if ticket.status == "waiting" else None
    return {"appointment": view(bo, row), "late": late,
            "ticket": ticket_json(bo, ticket, ahead, base_url)}


def mark_no_shows(bo: Backoffice, now: datetime | None = None) -> int:
    """Bookings not checked in `no_show_minutes` after their slot: no-show (their places
    are past; nothing to give back)."""
    now = now or utcnow()
    limit = now - timedelta(minutes=bo.settings.appointments.no_show_minutes)
    with writing(bo.engine) as conn:
        return int(conn.execute(update(A).where(A.c.status == "booked", A.c.slot_at < limit)
                                .values(status="no_show")).rowcount or 0)


def sweep_no_shows(bo: Backoffice) -> int:
    """The server's timer (`[appointments] no_show_check_seconds`, every process): one
    conditional UPDATE, so processes running it at the same moment mark each booking once
    (the second finds it no longer "booked")."""
    marked = mark_no_shows(bo)
    if marked:
        log.info("%d booking(s) marked no-show", marked)
    return marked


def day_list(bo: Backoffice, principal: Principal, ward_code: str,
             day: date) -> dict[str, Any]:
    """A ward's bookings of one day for its staff: slots, services, states, tickets."""
    principal.check_ward(ward_code)
    ward = ward_of(bo, ward_code)
    with reading(bo.engine) as conn:
        rows = conn.execute(select(A).where(A.c.ward == ward.code, A.c.day == day,
                                            A.c.status.in_(("booked", "checked_in", "late",
                                                            "no_show")))
                            .order_by(A.c.slot_at, A.c.id)).all()
    return {"ward": ward.code, "day": day.isoformat(),
            "appointments": [{**view(bo, r), "ticket_id": r.ticket_id} for r in rows]}
