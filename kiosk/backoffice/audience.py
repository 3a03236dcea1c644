"""What each audience of the live views may see.

Staff of the ward get events and the queue view as recorded (they may read a ticket's audit
trail anyway). Everyone else — the lobby display, a kiosk, the public phone page — gets a
projection built from an allow-list: numbers, counters, states and counts, never a note, a
priority or assistance flag, a payment, a ticket id or anything a resident typed. A field
added to an event later stays out of the public streams until it is listed here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kiosk.backoffice.auth import Principal

STAFF = "staff"
PUBLIC = "public"

_EVENT_KEYS = ("id", "type", "at", "ward", "service", "counter")
_TICKET_KEYS = ("number", "status", "service", "counter", "recall_count")
_DATA_KEYS = ("state",)  # ward.state: the ward's opening state
_SERVICE_KEYS = ("code", "prefix", "name", "waiting_count", "estimated_wait_seconds",
                 "open_counters")
_COUNTER_KEYS = ("number", "name", "services", "open")
_CURRENT_KEYS = ("number", "service", "status", "called_at", "recall_count")
_CALL_KEYS = ("number", "counter", "service", "called_at")
_VIEW_KEYS = ("ward", "name", "open_now", "generated_at", "last_event_id")


def of(principal: Principal) -> str:
    """The audience of a signed-in caller: staff, or a device (display, kiosk)."""
    return STAFF if principal.kind == "staff" else PUBLIC


def _pick(item: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    return {k: item[k] for k in keys if k in item}


def event_for(audience: str, event: dict[str, Any]) -> dict[str, Any]:
    """One event as `audience` may see it."""
    if audience == STAFF:
        return event
    ticket = event.get("ticket")
    return {**_pick(event, _EVENT_KEYS),
            "ticket": None if ticket is None else _pick(ticket, _TICKET_KEYS),
            "data": _pick(event.get("data") or {}, _DATA_KEYS)}


def queue_view_for(audience: str, view: dict[str, Any]) -> dict[str, Any]:
    """The ward's queue view (queue.queue_view) as `audience` may see it: the public one
    has the counts per service, the counters with the number each is calling, and the
    recent calls — no waiting list, no held or no-show numbers."""
    if audience == STAFF:
        return view
    return {
        **_pick(view, _VIEW_KEYS),
        "services": [_pick(s, _SERVICE_KEYS) for s in view["services"]],
        "counters": [{**_pick(c, _COUNTER_KEYS),
                      "current": None if c["current"] is None
                      else _pick(c["current"], _CURRENT_KEYS)} for c in view["counters"]],
        "recent_calls": [_pick(r, _CALL_KEYS) for r in view["recent_calls"]],
    }


_STATUS_KEYS = ("number", "ward", "ward_name", "service", "service_name", "status", "position",
                "people_ahead", "estimated_wait_seconds", "estimated_wait_range", "counter",
                "issued_at", "called_at", "route", "stage", "guide")


def public_status(view: dict[str, Any]) -> dict[str, Any]:
    """A ticket's phone status (queue.status_json) as its stream opens with it."""
    return _pick(view, _STATUS_KEYS)
