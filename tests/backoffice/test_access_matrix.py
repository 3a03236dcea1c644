"""Every route of the app × every kind of caller (issue 15): the wrong caller is denied,
the right one is not. Through the real HTTP server.

`MATRIX` is the table: one row per (method, route) of the app, with a concrete path to
call and the callers that may. `test_every_route_has_a_row` enumerates the app's routes:
a new route without a row fails it — add the row (who may call it) with the route.

Callers: staff / supervisor / admin of ward A (kita) and of ward B (naka), the city-wide
admin (no ward), `central` (本庁), a kiosk and a display of A, a kiosk of B, nobody.
"Denied" is 401, 403 or 404, or a page's redirect to its sign-in; "not denied" is any
other answer below 500 (e.g. 409 for an action that is not legal in the ticket's state).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pytest
import requests

from tests.backoffice.accounts import bearer, create_account, device_id, sign_in
from tests.backoffice.conftest import APPLICATION, issue, ok

CALLERS = ("anon", "staff_a", "supervisor_a", "admin_a", "staff_b", "supervisor_b",
           "admin_b", "city_admin", "central", "kiosk_a", "display_a", "kiosk_b", "terminal_a")
EVERYONE = frozenset(CALLERS)
CITY = frozenset({"city_admin"})
ADMIN_A = CITY | {"admin_a"}
SUPERVISOR_A = ADMIN_A | {"supervisor_a"}
STAFF_A = SUPERVISOR_A | {"staff_a"}
ADMINS = ADMIN_A | {"admin_b"}                   # lists filtered to the caller's ward
SUPERVISORS = SUPERVISOR_A | {"supervisor_b", "admin_b"}
STAFF = STAFF_A | {"staff_b", "supervisor_b", "admin_b"}  # the ladder, any ward
CENTRAL = CITY | {"central"}
DEVICES = frozenset({"kiosk_a", "display_a", "kiosk_b"})
NOBODY: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Row:
    method: str
    route: str                   # the route's path as the app declares it
    allowed: frozenset[str]
    path: str = ""               # what to call ({ticket}, {payment}, ... from `ids`); "" = route
    body: Any = None
    stream: bool = False         # SSE: read the status line only
    own_session: bool = False    # the call ends the caller's session: use a fresh one
    # the effective status when the HTTP status is not it (a batch answers per item)
    status: Callable[[requests.Response], int] = field(default=lambda r: r.status_code)
    # makes the row's target exist again before each caller (a delete that succeeded)
    before: Callable[[Callers, dict[str, Any]], None] | None = None


def _first_item(r: requests.Response) -> int:
    return int(r.json()["results"][0]["status"]) if r.status_code == 200 else r.status_code


def _terminal_to_remove(callers: Callers, ids: dict[str, Any]) -> None:
    r = callers.session("city_admin").post(
        callers.server.api("/admin/payment-terminals"), timeout=30,
        json={"device": "m-term2-kita", "terminal_id": "m-term-2"})
    assert r.status_code in (201, 409), r.text


def _release(callers: Callers, ids: dict[str, Any]) -> None:
    """A release this server serves (the bundle folder is the matrix server's)."""
    from tests.support.fleet import register
    if not ids.get("release"):
        ids["release"] = register(callers.server, ids["bundle_dir"], "m-1", who="admin")


def _release_to_delete(callers: Callers, ids: dict[str, Any]) -> None:
    """A release no ward targets (made again after a caller deleted it)."""
    from tests.support.fleet import register
    r = callers.session("city_admin").get(callers.server.api("/admin/releases"), timeout=30)
    if "m-del" not in [x["version"] for x in r.json()["releases"]]:
        register(callers.server, ids["bundle_dir"], "m-del", who="admin")


def _counter_to_remove(callers: Callers, ids: dict[str, Any]) -> None:
    r = callers.session("city_admin").put(
        callers.server.api("/admin/catalog/wards/kita/counters/91"), timeout=30,
        json={"name": "m-91", "services": ["certificates"]})
    assert r.status_code == 200, r.text


def _life_event_to_remove(callers: Callers, ids: dict[str, Any]) -> None:
    city = callers.session("city_admin")
    events = city.get(callers.server.api("/admin/catalog"), timeout=30).json()["life_events"]
    r = city.put(callers.server.api("/admin/catalog/life-events/m-event2"), timeout=30,
                 json={"event": events["events"][0]})
    assert r.status_code == 200, r.text


def _catalog_addition(part: str, table: dict[str, Any]) -> Callable[[Callers, dict[str, Any]],
                                                                   None]:
    """A service or procedure for the row's removal to find (201, or 409: still there)."""
    def before(callers: Callers, ids: dict[str, Any]) -> None:
        r = callers.session("city_admin").post(
            callers.server.api(f"/admin/catalog/{part}"), timeout=30, json=table)
        assert r.status_code in (201, 409), r.text
    return before


A = "/api/v1"
TICKET_BODY = {"service": "certificates", "ward": "kita"}
MATRIX: list[Row] = [
    # --- API documentation (on in the tests' config; off in production) ---
    Row("GET", "/openapi.json", EVERYONE),
    Row("GET", "/docs", EVERYONE),
    Row("GET", "/docs/oauth2-redirect", EVERYONE),
    Row("GET", "/redoc", EVERYONE),
    Row("GET", "/healthz", EVERYONE),
    # --- sign-in ---
    Row("POST", f"{A}/auth/login", EVERYONE, body={"username": "{login_user}",
                                                   "password": "{login_password}"}),
    Row("POST", f"{A}/auth/logout", STAFF, own_session=True),
    Row("GET", f"{A}/auth/me", STAFF | DEVICES),
    # --- catalog, devices, wards ---
    Row("GET", f"{A}/catalog", EVERYONE),
    Row("GET", f"{A}/wards", EVERYONE),
    Row("GET", f"{A}/device/config", DEVICES),
    Row("POST", f"{A}/device/heartbeat", DEVICES | {"terminal_a"}, body={"status": "ok"}),
    Row("GET", f"{A}/devices", SUPERVISORS),
    Row("GET", f"{A}/devices/health", SUPERVISOR_A, f"{A}/devices/health?ward=kita"),
    Row("GET", f"{A}/devices/health/stream", SUPERVISOR_A,
        f"{A}/devices/health/stream?ward=kita", stream=True),
    Row("GET", f"{A}/devices/{{device_id}}/reports", SUPERVISOR_A,
        f"{A}/devices/{{spare_device}}/reports"),
    Row("PUT", f"{A}/wards/{{ward}}/state", SUPERVISOR_A, f"{A}/wards/kita/state",
        body={"state": "auto"}),
    # --- tickets (of ward A) ---
    Row("POST", f"{A}/tickets", STAFF_A | {"kiosk_a"}, body=TICKET_BODY),
    Row("POST", f"{A}/tickets/batch", STAFF_A | {"kiosk_a"},
        body={"items": [{**TICKET_BODY, "idempotency_key": "{fresh_key}"}]},
        status=_first_item),
    Row("GET", f"{A}/tickets/by-key/{{key}}", frozenset({"kiosk_a"}),
        f"{A}/tickets/by-key/{{ticket_key}}"),
    # a resident's application: staff of the ward only (the kiosk keeps its by-key lookup)
    Row("GET", f"{A}/tickets/{{ticket_id}}", STAFF_A, f"{A}/tickets/{{ticket}}"),
    Row("GET", f"{A}/tickets/{{ticket_id}}/events", STAFF_A, f"{A}/tickets/{{ticket}}/events"),
    Row("GET", f"{A}/tickets/{{ticket_id}}/form.pdf", STAFF_A,
        f"{A}/tickets/{{form_ticket}}/form.pdf"),
    Row("POST", f"{A}/tickets/{{ticket_id}}/transfer", STAFF_A,
        f"{A}/tickets/{{ticket}}/transfer", body={"service": "moving"}),
    *(Row("POST", f"{A}/tickets/{{ticket_id}}/{action}", STAFF_A,
          f"{A}/tickets/{{ticket}}/{action}")
      for action in ("call", "recall", "start", "complete", "hold", "resume", "no-show")),
    Row("POST", f"{A}/tickets/{{ticket_id}}/cancel", STAFF_A | {"kiosk_a"},
        f"{A}/tickets/{{cancel_ticket}}/cancel"),
    # routed visits (issue #17): staff of the visit's ward
    *(Row("POST", f"{A}/tickets/{{ticket_id}}/route/{action}", STAFF_A,
          f"{A}/tickets/{{route_ticket}}/route/{action}", body=body)
      for action, body in (("add", {"service": "certificates", "procedures": ["koseki"]}),
                           ("skip", {"seq": 2}), ("reorder", {"order": [2, 3]}),
                           ("send-back", {"seq": 1}))),
    # interview mode: the life-event questions on the console (staff of the ward)
    Row("GET", f"{A}/life-events", STAFF),
    Row("POST", f"{A}/interview", STAFF_A,
        body={"ward": "kita", "event": "tennyu", "answers": {}}),
    Row("POST", f"{A}/interview/tickets", STAFF_A,
        body={"ward": "kita", "event": "tennyu", "answers": {
            "employer_insurance": "yes", "children": "no", "seniors": "いない",
            "card_holders": "0人", "dog": "no"}, "values": {
            "name": "山田　太郎", "birth_date": "1980-01-02", "sex": "1",
            "address": "大阪府大阪市北区梅田1-1", "new_address": "堺市北区新金岡町5丁1-1",
            "move_date": "2026-03-28", "householder": "山田　太郎", "members": "2"}}),
    Row("POST", f"{A}/number-blocks", frozenset({"kiosk_a", "kiosk_b"}),
        body={"service": "certificates", "day": "{today}", "size": 1}),
    # --- counters and queues (ward A) ---
    *(Row("POST", f"{A}/wards/{{ward}}/counters/{{number}}/{action}", STAFF_A,
          f"{A}/wards/kita/counters/1/{action}") for action in ("call-next", "open", "close")),
    Row("GET", f"{A}/wards/{{ward}}/queue", STAFF_A | {"kiosk_a", "display_a"},
        f"{A}/wards/kita/queue"),
    Row("GET", f"{A}/wards/{{ward}}/estimates", EVERYONE, f"{A}/wards/kita/estimates"),
    Row("GET", f"{A}/wards/{{ward}}/announcements/{{number}}", STAFF_A | {"display_a"},
        f"{A}/wards/kita/announcements/A-001?counter=1"),
    Row("GET", f"{A}/overview", SUPERVISORS),
    # --- floor staff (案内係): a kiosk's "ask staff" ---
    Row("POST", f"{A}/floor/requests", frozenset({"kiosk_a", "kiosk_b"}),
        body={"place": "1階 正面入口"}),
    Row("GET", f"{A}/wards/{{ward}}/floor/requests", STAFF_A, f"{A}/wards/kita/floor/requests"),
    Row("POST", f"{A}/wards/{{ward}}/floor/requests/{{request_id}}/take", STAFF_A,
        f"{A}/wards/kita/floor/requests/{{floor_request}}/take"),
    Row("GET", f"{A}/wards/{{ward}}/floor/stream", STAFF_A, f"{A}/wards/kita/floor/stream",
        stream=True),
    # --- live streams and the phone ---
    Row("GET", f"{A}/events", STAFF_A | {"kiosk_a", "display_a"}, f"{A}/events?ward=kita",
        stream=True),
    Row("GET", f"{A}/status/{{token}}", EVERYONE, f"{A}/status/{{status_token}}"),
    Row("GET", f"{A}/status/{{token}}/events", EVERYONE, f"{A}/status/{{status_token}}/events",
        stream=True),
    # --- administration (ward A's accounts and devices) ---
    Row("POST", f"{A}/admin/staff", ADMIN_A,
        body={"username": "m-new-clerk", "role": "staff", "ward": "kita"}),
    Row("GET", f"{A}/admin/staff", ADMINS),
    *(Row("POST", f"{A}/admin/staff/{{username}}/{action}", ADMIN_A,
          f"{A}/admin/staff/m-victim-a/{action}")
      for action in ("reset-password", "disable", "enable")),
    Row("POST", f"{A}/admin/devices", ADMIN_A,
        body={"name": "m-new-display", "kind": "display", "ward": "kita"}),
    Row("POST", f"{A}/admin/devices/{{device_id}}/rotate-token", ADMIN_A,
        f"{A}/admin/devices/{{spare_device}}/rotate-token"),
    Row("POST", f"{A}/admin/devices/{{device_id}}/enrolment-code", ADMIN_A,
        f"{A}/admin/devices/{{spare_device}}/enrolment-code"),
    # the code is the credential: a made-up one is refused to everyone
    Row("POST", f"{A}/device/enrol", NOBODY, body={"code": "en_" + "x" * 22}),
    Row("DELETE", f"{A}/admin/devices/{{device_id}}", ADMIN_A,
        f"{A}/admin/devices/{{spare_device}}"),
    Row("GET", f"{A}/admin/account-events", ADMINS),
    # --- kiosk fleet: releases (city-wide), a ward's target (its admin), a kiosk's target ---
    Row("POST", f"{A}/admin/releases", CITY, body={
        "version": "m-2", "compatible": "m", "sha256": "0" * 64, "size": 1,
        "url": "https://updates.example.jp/m-2.raucb"}),
    Row("GET", f"{A}/admin/releases", ADMINS),
    Row("GET", f"{A}/admin/bundles", CITY),
    Row("DELETE", f"{A}/admin/releases/{{version}}", CITY, f"{A}/admin/releases/m-del",
        before=_release_to_delete),
    Row("PATCH", f"{A}/admin/releases/{{version}}", CITY, f"{A}/admin/releases/m-1",
        body={"published": True}, before=_release),
    Row("PUT", f"{A}/admin/wards/{{ward}}/release", ADMIN_A, f"{A}/admin/wards/kita/release",
        body={"version": None}),
    Row("GET", f"{A}/device/release", frozenset({"kiosk_a", "kiosk_b"})),
    Row("GET", f"{A}/device/bundles/{{version}}", frozenset({"kiosk_a", "kiosk_b"}),
        f"{A}/device/bundles/m-1", stream=True, before=_release),
    # --- the catalog (ward A's counters, hours and days; city-wide services etc.) ---
    Row("GET", f"{A}/admin/catalog", ADMINS),           # a ward's admin: its ward's part
    Row("GET", f"{A}/admin/catalog/versions", ADMINS),
    Row("PUT", f"{A}/admin/catalog/wards/{{ward}}/counters/{{number}}", ADMIN_A,
        f"{A}/admin/catalog/wards/kita/counters/90",
        body={"name": "m-90", "services": ["certificates"]}),
    Row("DELETE", f"{A}/admin/catalog/wards/{{ward}}/counters/{{number}}", ADMIN_A,
        f"{A}/admin/catalog/wards/kita/counters/91", before=_counter_to_remove),
    Row("PUT", f"{A}/admin/catalog/wards/{{ward}}/services", ADMIN_A,
        f"{A}/admin/catalog/wards/kita/services", body={"services": ["no-such"]}),  # 422
    Row("PUT", f"{A}/admin/catalog/wards/{{ward}}/hours", ADMIN_A,
        f"{A}/admin/catalog/wards/kita/hours",
        body={"opens": "08:45", "closes": "17:15", "weekdays": [0, 1, 2, 3, 4]}),
    Row("PUT", f"{A}/admin/catalog/wards/{{ward}}/days", ADMIN_A,
        f"{A}/admin/catalog/wards/kita/days", body={"closed": ["2031-01-06"]}),
    Row("PATCH", f"{A}/admin/catalog/services/{{code}}", CITY,
        f"{A}/admin/catalog/services/certificates", body={"target_wait_minutes": 15}),
    Row("PATCH", f"{A}/admin/catalog/procedures/{{code}}", CITY,
        f"{A}/admin/catalog/procedures/juminhyo", body={"fee_yen": 300}),
    # the city-wide admin gets 422 (the event is incomplete): allowed, and nothing changes
    Row("PUT", f"{A}/admin/catalog/life-events/{{code}}", CITY,
        f"{A}/admin/catalog/life-events/m-event", body={"event": {"name": "m"}}),
    Row("DELETE", f"{A}/admin/catalog/life-events/{{code}}", CITY,
        f"{A}/admin/catalog/life-events/m-event2", before=_life_event_to_remove),
    # services and procedures added (the city-wide admin: 201, or 422 for the incomplete
    # procedure) and removed (unused, so the city-wide admin's removal succeeds)
    Row("POST", f"{A}/admin/catalog/services", CITY,
        body={"code": "m-svc", "prefix": "Y", "name": "m"}),
    Row("DELETE", f"{A}/admin/catalog/services/{{code}}", CITY,
        f"{A}/admin/catalog/services/m-svc2",
        before=_catalog_addition("services", {"code": "m-svc2", "prefix": "X", "name": "m"})),
    Row("POST", f"{A}/admin/catalog/procedures", CITY,
        body={"code": "m-proc", "service": "certificates", "group": "other", "name": "m"}),
    Row("DELETE", f"{A}/admin/catalog/procedures/{{code}}", CITY,
        f"{A}/admin/catalog/procedures/m-proc2",
        before=_catalog_addition("procedures", {
            "code": "m-proc2", "service": "certificates", "group": "other", "name": "m",
            "fields": [{"key": "name", "label": "m", "kind": "name", "source": "card"}]})),
    # a stale base: the admins get 409 (a ward's admin rolls back its own ward's parts)
    Row("POST", f"{A}/admin/catalog/versions/{{version}}/rollback", ADMINS,
        f"{A}/admin/catalog/versions/1/rollback", body={"base_version": 0}),
    # --- payments (a ticket of ward A with a fee) ---
    Row("POST", f"{A}/tickets/{{ticket_id}}/payments", STAFF_A | {"kiosk_a"},
        f"{A}/tickets/{{fee_ticket}}/payments", body={"method": "counter"}),
    Row("GET", f"{A}/tickets/{{ticket_id}}/payments", STAFF_A | {"kiosk_a"},
        f"{A}/tickets/{{fee_ticket}}/payments"),
    Row("GET", f"{A}/payments/reconciliation", SUPERVISORS),
    Row("POST", f"{A}/payments/reconciliation/terminal-journal", SUPERVISORS,
        body={"transactions": []}),
    Row("POST", f"{A}/payments/webhook", NOBODY, body={"event": "x"}),  # signed, not a caller
    Row("GET", f"{A}/payments/{{payment_id}}", STAFF_A | {"kiosk_a"}, f"{A}/payments/{{payment}}"),
    Row("GET", f"{A}/payments/{{payment_id}}/events", STAFF_A,
        f"{A}/payments/{{payment}}/events"),
    Row("POST", f"{A}/payments/{{payment_id}}/cancel", STAFF_A | {"kiosk_a"},
        f"{A}/payments/{{payment}}/cancel"),
    # only the kiosk that started the payment (this one was started at the counter): the
    # starting kiosk's own right is in tests/payment/test_terminal_proof.py
    Row("POST", f"{A}/payments/{{payment_id}}/terminal-result", NOBODY,
        f"{A}/payments/{{payment}}/terminal-result", body={"state": "failed"}),
    Row("POST", f"{A}/payments/{{payment_id}}/paid-at-counter", STAFF_A,
        f"{A}/payments/{{payment}}/paid-at-counter", body={"reference": "m"}),
    Row("POST", f"{A}/tickets/{{ticket_id}}/paid-at-counter", STAFF_A,
        f"{A}/tickets/{{fee_ticket}}/paid-at-counter", body={"reference": "m"}),
    Row("POST", f"{A}/admin/payment-terminals", ADMIN_A,
        body={"device": "m-term-kita", "terminal_id": "m-term-1"}),
    Row("GET", f"{A}/admin/payment-terminals", ADMINS),
    Row("DELETE", f"{A}/admin/payment-terminals/{{terminal_id}}", ADMIN_A,
        f"{A}/admin/payment-terminals/m-term-2", before=_terminal_to_remove),
    # --- the central office ---
    Row("GET", f"{A}/central/now", CENTRAL),
    Row("GET", f"{A}/central/period", CENTRAL),
    Row("GET", f"{A}/central/period.csv", CENTRAL),
    Row("GET", f"{A}/central/estimate-accuracy", CENTRAL),
    Row("GET", f"{A}/central/estimate-accuracy.csv", CENTRAL),
    Row("GET", f"{A}/wards/{{ward}}/estimate-accuracy", SUPERVISOR_A,
        f"{A}/wards/kita/estimate-accuracy"),
    Row("GET", f"{A}/wards/{{ward}}/what-if", SUPERVISOR_A | CENTRAL,
        f"{A}/wards/kita/what-if?service=certificates&counters=2&start=09:00&end=11:00"
        "&weekday=6&months=1"),
    # the fuller statistics (issue #22): a ward's supervisors or 本庁; per staff: the ward's
    # supervisors only, never 本庁
    Row("GET", f"{A}/wards/{{ward}}/statistics", SUPERVISOR_A | CENTRAL,
        f"{A}/wards/kita/statistics"),
    Row("GET", f"{A}/wards/{{ward}}/statistics/{{table}}.csv", SUPERVISOR_A | CENTRAL,
        f"{A}/wards/kita/statistics/hours.csv"),
    Row("GET", f"{A}/central/statistics", CENTRAL),
    Row("GET", f"{A}/central/statistics/{{table}}.csv", CENTRAL,
        f"{A}/central/statistics/counters.csv"),
    Row("GET", f"{A}/wards/{{ward}}/staff-statistics", SUPERVISOR_A,
        f"{A}/wards/kita/staff-statistics?from=2026-01-01&to=2026-01-31"),
    Row("GET", f"{A}/wards/{{ward}}/staff-statistics.csv", SUPERVISOR_A,
        f"{A}/wards/kita/staff-statistics.csv?from=2026-01-01&to=2026-01-31"),
    Row("GET", "/supervisor/statistics", SUPERVISORS),
    Row("GET", "/central", CENTRAL),
    Row("POST", "/web/central/logout", EVERYONE),  # ends the cookie's session, if any
    # --- pages (shells whose data comes from the API above) ---
    Row("GET", "/console", EVERYONE),
    Row("GET", "/display", EVERYONE, "/display?ward=kita"),
    Row("GET", "/supervisor", SUPERVISORS),
    Row("GET", "/supervisor/devices", SUPERVISORS),
    Row("GET", "/admin", ADMINS),
    Row("GET", "/admin/catalog", ADMINS),
    Row("GET", "/floor", STAFF),
    Row("GET", "/web/language", EVERYONE, "/web/language?lang=en&next=/console"),
    Row("GET", "/web/static/{name:path}", EVERYONE, "/web/static/web.css"),
    Row("GET", "/web/tickets/{ticket_id}/application", STAFF_A,
        "/web/tickets/{form_ticket}/application"),
    Row("GET", "/status/{token}", EVERYONE, "/status/{status_token}"),
    Row("GET", "/status/{token}/view", EVERYONE, "/status/{status_token}/view"),
    # notifications (issue #19): the phone page's opt-in by its token; a ward's figures
    Row("GET", "/push-sw.js", EVERYONE),
    Row("GET", f"{A}/status/{{token}}/notifications", EVERYONE,
        f"{A}/status/{{status_token}}/notifications"),
    Row("PUT", f"{A}/status/{{token}}/notifications/push", EVERYONE,
        f"{A}/status/{{status_token}}/notifications/push",
        body={"endpoint": "https://fcm.googleapis.com/fcm/send/matrix",
              "keys": {"p256dh": "B" + "A" * 86, "auth": "A" * 22}}),
    Row("PUT", f"{A}/status/{{token}}/notifications/email", EVERYONE,
        f"{A}/status/{{status_token}}/notifications/email", body={"address": "a@example.org"}),
    Row("DELETE", f"{A}/status/{{token}}/notifications/{{channel}}", EVERYONE,
        f"{A}/status/{{status_token}}/notifications/push"),
    Row("GET", f"{A}/wards/{{ward}}/notifications", SUPERVISOR_A, f"{A}/wards/kita/notifications"),
    # --- from home (issue #19): public, numbers only, rate-limited ---
    Row("GET", f"{A}/public/congestion/{{ward}}", EVERYONE, f"{A}/public/congestion/kita"),
    Row("GET", "/congestion/{ward}", EVERYONE, "/congestion/kita"),
    Row("GET", f"{A}/public/appointments/{{ward}}", EVERYONE, f"{A}/public/appointments/kita"),
    Row("GET", f"{A}/public/appointments/{{ward}}/{{service}}/days", EVERYONE,
        f"{A}/public/appointments/kita/certificates/days"),
    Row("GET", f"{A}/public/appointments/{{ward}}/{{service}}/slots", EVERYONE,
        f"{A}/public/appointments/kita/certificates/slots?day={{slot_day}}"),
    Row("POST", f"{A}/public/appointments/holds", EVERYONE,
        body={"ward": "kita", "service": "certificates", "slot": "{slot}"}),
    Row("POST", f"{A}/public/appointments/confirm", EVERYONE,
        body={"code": "{booking}", "contact": "matrix@example.jp"}),
    Row("POST", f"{A}/public/appointments/find", EVERYONE, body={"code": "{booking}"}),
    Row("POST", f"{A}/public/appointments/cancel", EVERYONE, body={"code": "{cancel_booking}"}),
    Row("POST", f"{A}/public/appointments/move", EVERYONE,
        body={"code": "{booking}", "slot": "{slot2}"}),
    Row("POST", f"{A}/appointments/check-in", frozenset({"kiosk_a"}), body={"code": "{booking}"}),
    Row("GET", f"{A}/wards/{{ward}}/appointments", STAFF_A,
        f"{A}/wards/kita/appointments?day={{slot_day}}"),
    Row("GET", f"{A}/public/remote/{{ward}}", EVERYONE, f"{A}/public/remote/kita"),
    Row("POST", f"{A}/public/remote/take", EVERYONE,
        body={"ward": "kita", "service": "certificates"}),
    Row("POST", f"{A}/public/remote/find", EVERYONE, body={"code": "{place}"}),
    Row("POST", f"{A}/public/remote/cancel", EVERYONE, body={"code": "{cancel_place}"}),
    Row("POST", f"{A}/remote/check-in", frozenset({"kiosk_a"}), body={"code": "{place}"}),
    # a place's "check in by" notice, keyed by its code (in the body)
    Row("POST", f"{A}/public/remote/notifications", EVERYONE, body={"code": "{place}"}),
    Row("POST", f"{A}/public/remote/notifications/push", EVERYONE,
        body={"code": "{place}", "endpoint": "https://fcm.googleapis.com/fcm/send/matrix",
              "keys": {"p256dh": "B" + "A" * 86, "auth": "A" * 22}}),
    Row("POST", f"{A}/public/remote/notifications/email", EVERYONE,
        body={"code": "{place}", "address": "a@example.org"}),
    Row("POST", f"{A}/public/remote/notifications/stop", EVERYONE,
        body={"code": "{place}", "channel": "email"}),
    Row("GET", "/book", EVERYONE),
    Row("GET", "/book/manage", EVERYONE),
    Row("GET", "/book/{ward}", EVERYONE, "/book/kita"),
    Row("GET", "/book/{ward}/{service}", EVERYONE, "/book/kita/certificates"),
    # the forms' POSTs (a JSON body is no form: 422, after the same checks)
    *(Row("POST", f"/book/{step}", EVERYONE)
      for step in ("hold", "confirm", "find", "cancel", "move")),
    Row("GET", "/queue", EVERYONE),
    Row("GET", "/queue/manage", EVERYONE),
    Row("GET", "/queue/{ward}", EVERYONE, "/queue/kita"),
    *(Row("POST", f"/queue/{step}", EVERYONE) for step in ("take", "find", "cancel", "notify")),
]


def app_routes(routes: Any) -> Iterator[tuple[str, str]]:
    """(method, path) of every route, through included routers."""
    for route in routes:
        contexts = getattr(route, "effective_route_contexts", None)
        if contexts is not None:
            for ctx in contexts():
                yield from ((m, ctx.path) for m in sorted(ctx.methods - {"HEAD"}))
        else:
            yield from ((m, route.path) for m in sorted((route.methods or set()) - {"HEAD"}))


class Callers:
    """Sessions for every kind of caller, on one server."""

    def __init__(self, server: Any) -> None:
        self.server = server
        self.passwords = {"staff_a": ("staff", server.passwords["staff"]),
                          "city_admin": ("admin", server.passwords["admin"])}
        for who, role, ward in (("supervisor_a", "supervisor", "kita"),
                                ("admin_a", "admin", "kita"), ("staff_b", "staff", "naka"),
                                ("supervisor_b", "supervisor", "naka"),
                                ("admin_b", "admin", "naka"), ("central", "central", None)):
            name = "m-" + who.replace("_", "-")
            self.passwords[who] = (name, create_account(server, name, role, ward))
        self.tokens = {"kiosk_a": server.device_tokens[("kiosk", "kita")],
                       "display_a": server.device_tokens[("display", "kita")],
                       "kiosk_b": server.device_tokens[("kiosk", "naka")]}
        self.sessions: dict[str, requests.Session] = {}
        self.tokens["terminal_a"] = self._terminal()

    def _terminal(self) -> str:
        """A payment terminal of ward A with its own token (it may only report health)."""
        r = self.session("city_admin").post(self.server.api("/admin/devices"), timeout=30,
                                            json={"name": "m-terminal-a", "kind": "terminal",
                                                  "ward": "kita"})
        assert r.status_code == 201, r.text
        return str(r.json()["token"])

    def session(self, who: str, fresh: bool = False) -> requests.Session:
        if who == "anon":
            return requests.Session()
        if who in self.tokens:
            return bearer(self.tokens[who])
        if fresh or who not in self.sessions:
            session = sign_in(self.server, *self.passwords[who])
            if fresh:
                return session
            self.sessions[who] = session
        return self.sessions[who]


@pytest.fixture(scope="module")
def matrix_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from tests.support.backoffice import ServerFactory
    from tests.support.fleet import fleet_config

    root = tmp_path_factory.mktemp("matrix")
    factory = ServerFactory(root)
    try:  # a webhook secret, so the webhook answers on its signature (not 503)
        server = factory.start(env={"PAYMENT_WEBHOOK_SECRET": uuid.uuid4().hex},
                               config=fleet_config(root / "bundles"))
        server.bundle_dir = root / "bundles"
        yield server
    finally:
        factory.close()


@pytest.fixture(scope="module")
def world(matrix_server: Any) -> tuple[Callers, dict[str, Any]]:
    server = matrix_server
    callers = Callers(server)
    create_account(server, "m-victim-a", "staff", "kita")
    login_password = create_account(server, "m-login", "staff", "kita")
    spare = ok(server.session("admin").post(server.api("/admin/devices"), timeout=30, json={
        "name": "m-spare-kita", "kind": "kiosk", "ward": "kita"}), 201)
    for name in ("m-term-kita", "m-term2-kita"):  # kiosks to bind payment terminals to
        ok(server.session("admin").post(server.api("/admin/devices"), timeout=30, json={
            "name": name, "kind": "kiosk", "ward": "kita"}), 201)
    key = uuid.uuid4().hex
    ticket = ok(issue(server, key=key), 201)
    with_form = {"procedure": "juminhyo", "application": APPLICATION, "service": None}
    form_ticket = ok(issue(server, **with_form), 201)
    fee_ticket = ok(issue(server, **with_form), 201)
    payment = ok(server.session("staff").post(server.api(f"/tickets/{fee_ticket['id']}/payments"),
                                              json={"method": "counter"}, timeout=30), 201)
    floor = ok(callers.session("kiosk_a").post(server.api("/floor/requests"), timeout=30,
                                               json={"place": "1階"}), 201)
    ids = {"floor_request": floor["id"],
           "ticket": ticket["id"], "ticket_key": key, "form_ticket": form_ticket["id"],
           "cancel_ticket": ok(issue(server), 201)["id"], "fee_ticket": fee_ticket["id"],
           "payment": payment["id"], "status_token": ticket["status_url"].rsplit("/", 1)[-1],
           "spare_device": spare["id"], "today": date.today().isoformat(),
           "bundle_dir": server.bundle_dir, "release": None,
           "login_user": "m-login", "login_password": login_password,
           "route_ticket": ok(issue(server, service=None, route=[
               {"service": "moving", "procedures": ["tennyu"]},
               {"service": "insurance", "procedures": ["kokuho_kanyu"]},
               {"service": "certificates", "procedures": ["juminhyo"]}]), 201)["id"]}
    assert device_id(server, "m-spare-kita") == spare["id"]
    ids.update(bookings(server))
    ids.update(places(server))
    return callers, ids


def bookings(server: Any) -> dict[str, str]:
    """Two bookings of a bookable slot (one to cancel) and another slot to move to."""
    base = server.api("/public/appointments")
    days = ok(requests.get(f"{base}/kita/certificates/days", timeout=30))["days"]
    day = next(d["day"] for d in days if d["free"] > 6)
    slots = [s["start"] for s in ok(requests.get(f"{base}/kita/certificates/slots?day={day}",
                                                 timeout=30))["slots"] if s["free"] == 3]
    codes = []
    for contact in ("a@example.jp", "b@example.jp"):
        held = ok(requests.post(f"{base}/holds", json={"ward": "kita", "service": "certificates",
                                                       "slot": slots[0]}, timeout=30), 201)
        codes.append(ok(requests.post(f"{base}/confirm", json={"code": held["code"],
                                                               "contact": contact},
                                      timeout=30))["code"])
    return {"slot_day": day, "slot": slots[1], "slot2": slots[2], "booking": codes[0],
            "cancel_booking": codes[1]}


def places(server: Any) -> dict[str, str]:
    """Two places in today's queue from home (one to cancel): a wait long enough first."""
    for _ in range(6):
        ok(issue(server), 201)
    codes = [ok(requests.post(server.api("/public/remote/take"), timeout=30, json={
        "ward": "kita", "service": "certificates"}), 201)["code"] for _ in range(2)]
    return {"place": codes[0], "cancel_place": codes[1]}


def _fill(value: Any, ids: dict[str, Any]) -> Any:
    if isinstance(value, str):
        return value.replace("{fresh_key}", uuid.uuid4().hex).format(**ids)
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    return value


def denied(row: Row, r: requests.Response) -> bool:
    location = r.headers.get("location", "")
    to_sign_in = r.is_redirect and (location.startswith("/console?next=")
                                    or location == "/central")
    return row.status(r) in (401, 403, 404) or to_sign_in


def call(row: Row, callers: Callers, ids: dict[str, Any], who: str) -> requests.Response:
    session = callers.session(who, fresh=row.own_session)
    headers = {"Idempotency-Key": uuid.uuid4().hex, "Accept": "application/json"}
    if row.stream:
        headers["Accept"] = "text/event-stream"
    r = session.request(row.method, callers.server.url + _fill(row.path or row.route, ids),
                        json=_fill(row.body, ids), headers=headers, timeout=30,
                        allow_redirects=False, stream=row.stream)
    if row.stream:
        r.close()
    return r


def test_every_route_has_a_row(matrix_server: Any) -> None:
    from kiosk.backoffice.app import backoffice_from, create_app

    bo = backoffice_from(matrix_server.db_url, str(matrix_server.config_path))
    try:
        declared = set(app_routes(create_app(bo).routes))
    finally:
        bo.engine.dispose()
    table = [(row.method, row.route) for row in MATRIX]
    assert len(table) == len(set(table)), "a route has two rows"
    missing = sorted(declared - set(table))
    assert not missing, f"routes without a row in MATRIX (who may call them?): {missing}"
    assert not sorted(set(table) - declared), "rows for routes the app no longer has"


@pytest.mark.parametrize("row", MATRIX, ids=lambda row: f"{row.method} {row.route}")
def test_who_may_call_each_route(row: Row, world: tuple[Callers, dict[str, Any]]) -> None:
    callers, ids = world
    wrong: list[str] = []
    for who in CALLERS:
        if row.before is not None:
            row.before(callers, ids)
        r = call(row, callers, ids, who)
        if r.status_code >= 500:
            wrong.append(f"{who}: {r.status_code} {r.text[:200]}")
        elif (who in row.allowed) == denied(row, r):
            expected = "allowed" if who in row.allowed else "denied"
            wrong.append(f"{who} should be {expected}: {row.status(r)} {r.text[:200]}")
    assert not wrong, "\n".join(wrong)
