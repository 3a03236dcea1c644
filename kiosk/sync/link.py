"""`KioskLink`: everything the kiosk app exchanges with the back-office, offline-first.

The caller's thread only touches the local store (and, for an online ticket, makes one
bounded request); the link's own thread sends the outbox, pulls the configuration and
wait estimates, reserves offline number blocks and sends the heartbeat.

Over 400 lines on purpose: one class owns the link's thread and the state it shares with
the caller (outbox drain, pulls, number blocks, heartbeat, dead-message purge); split,
its locking would spread across modules.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from kiosk import __version__
from kiosk.configfile import load_catalog
from kiosk.domain.application import Application
from kiosk.domain.catalog import Catalog, OpeningHours
from kiosk.domain.errors import ConfigError
from kiosk.sync import blocks
from kiosk.sync.client import BackofficeClient, Rejected, Unreachable, backoff_delay
from kiosk.sync.model import (
    Endpoint,
    IssuedTicket,
    IssueRefused,
    LinkStatus,
    NoOfflineNumbers,
    Offline,
    OpeningState,
    RoutedVisit,
    WaitEstimate,
)
from kiosk.sync.outbox import Personal, Sender, counts, enqueue, purge_dead, with_personal
from kiosk.sync.remote import catalog_from_config, minutes, parse_time
from kiosk.sync.sealing import Sealer, load_key, refuse_my_number
from kiosk.sync.settings import SyncSettings, load_settings
from kiosk.sync.store import Store, cache, outbox, tickets

log = logging.getLogger(__name__)

API = "/api/v1"
OFFICE_TZ = "Asia/Tokyo"       # until the back-office tells us its [server] timezone
PRIORITIES = ("normal", "priority", "appointment", "assistance")
IN_FLIGHT = 1e18               # not_before of a ticket message while its online try runs
DEAD_PURGE_S = 3600.0          # how often expired refused messages are looked for


class KioskLink:
    def __init__(self, settings: SyncSettings, *, token: str | None = None,
                 key: bytes | None = None, clock: Callable[[], float] = time.time,
                 catalog: Catalog | None = None) -> None:
        self.settings = settings
        self.ward = settings.backoffice.ward
        self.store = Store(settings.store.path, settings.store.synchronous)
        self.sealer = Sealer(key if key is not None else load_key(settings.store.key_file))
        self.client = BackofficeClient(settings.backoffice, token)
        self._clock = clock
        self._local_catalog = catalog
        self._lock = threading.RLock()
        self._online: bool | None = None       # None: not tried yet
        self._last_contact: float | None = None
        self._started = time.monotonic()       # the heartbeat's uptime_seconds
        self._subscribers: list[Callable[[str], None]] = []
        self._kick = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._config_version: str | None = None
        self._config_due = True
        self._health_due = True
        self._purge_due = False                # sealed data was deleted: truncate the WAL
        self.sender = Sender(self.store, self.client, self.sealer,
                             batch=settings.store.send_batch, on_result=self._reached)
        self._offset = float(self._cached("clock", {}).get("offset", 0.0))
        config = self._cached("config", {})
        self._tz = ZoneInfo(config.get("timezone") or OFFICE_TZ)
        self._public_url: str | None = config.get("public_url") or None
        # (service, day) -> Idempotency-Key of a block request not answered yet: a retry
        # after a lost answer gets the same block back instead of reserving another.
        self._block_keys: dict[tuple[str, str], str] = {}
        self._blocks_exhausted: set[tuple[str, str]] = set()
        self._catalog = self._catalog_from_cache()
        self._recover()

    @classmethod
    def from_config(cls, path: str | None = None, **kw: Any) -> KioskLink:
        return cls(load_settings(path), **kw)

    # -- lifecycle ----------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None:
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="kiosk-link", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        self._kick.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self.sender.close()
        self.client.close()
        if self._purge_due:
            self._purge()
        self.store.close()

    def subscribe(self, callback: Callable[[str], None]) -> None:
        self._subscribers.append(callback)

    def _notify(self, what: str) -> None:
        for cb in list(self._subscribers):
            try:
                cb(what)
            except Exception:  # a broken subscriber must not stop the link
                log.exception("link subscriber failed on %s", what)

    @property
    def online(self) -> bool:
        return bool(self._online)

    def _reached(self, ok: bool) -> None:
        with self._lock:
            changed = self._online is not ok
            self._online = ok
            if ok:
                self._last_contact = time.time()
        if changed:
            log.info("back-office %s", "reachable" if ok else "unreachable")
            self._notify("online")
            if ok:
                self._kick.set()

    # -- time ---------------------------------------------------------------------------
    def now(self) -> datetime:
        """Office time: the kiosk clock corrected by the offset learnt from the server."""
        return datetime.fromtimestamp(self._clock() + self._offset, self._tz)

    def _learn_clock(self, server_time: Any, sent: float, received: float) -> None:
        at = parse_time(server_time)
        if at is None:
            return
        offset = at.timestamp() - (sent + received) / 2
        if abs(offset - self._offset) > 1.0:
            log.warning("kiosk clock is %+.1f s off the back-office; correcting", -offset)
        self._offset = offset
        self._put_cache("clock", {"offset": offset})

    # -- the local cache ------------------------------------------------------------------
    def _cached(self, name: str, default: Any = None) -> Any:
        with self.store.read() as conn:
            body = conn.execute(select(cache.c.body).where(cache.c.name == name)).scalar()
        return json.loads(body) if body is not None else default

    def _cached_at(self, name: str) -> float | None:
        with self.store.read() as conn:
            return conn.execute(select(cache.c.fetched_at).where(cache.c.name == name)).scalar()

    def _put_cache(self, name: str, body: Any) -> None:
        text = json.dumps(body, ensure_ascii=False)
        with self.store.write() as conn:
            conn.execute(cache.delete().where(cache.c.name == name))
            conn.execute(cache.insert().values(name=name, body=text, fetched_at=time.time()))

    def _catalog_from_cache(self) -> Catalog | None:
        body = self._cached("config")
        if not body:
            return None
        try:
            return catalog_from_config(body)
        except (ConfigError, KeyError, TypeError, ValueError) as exc:  # must not stop boot
            log.error("cached back-office config unusable: %s", exc)
            return None

    # -- crash recovery -------------------------------------------------------------------
    def _recover(self) -> None:
        """A ticket without a number was being issued when the kiosk died: nobody holds
        it. If its request may have reached the back-office, withdraw it there."""
        with self.store.write() as conn:
            orphans = conn.execute(select(tickets.c.key).where(tickets.c.number.is_(None))
                                   ).scalars().all()
            for key in orphans:
                conn.execute(outbox.update().where(outbox.c.key == key)
                             .values(kind="void", not_before=0.0, sealed=None))
                conn.execute(tickets.delete().where(tickets.c.key == key))
        if orphans:
            log.warning("%d ticket(s) were being issued when the kiosk stopped; "
                        "withdrawing them", len(orphans))

    # -- issuing --------------------------------------------------------------------------
    def issue_ticket(self, service: str, procedure: str | None = None,
                     application: Application | None = None, priority: bool | str = False,
                     language: str = "ja", *, routed: RoutedVisit | None = None
                     ) -> IssuedTicket:
        """One ticket. A routed visit (`routed`) names the first stage's service and
        procedure itself and carries one application per procedure instead of one."""
        prio = ("priority" if priority else "normal") if isinstance(priority, bool) else priority
        if prio not in PRIORITIES:
            raise ValueError(f"priority must be one of {', '.join(PRIORITIES)}")
        if routed is not None:
            service, procedure = routed.first()
        body: dict[str, Any] = {"service": service, "language": language, "priority": prio}
        if procedure is not None:
            body["procedure"] = procedure
        personal: dict[str, Any] | list[dict[str, Any]] | None
        if routed is not None:
            body.update(routed.wire())
            refuse_my_number(body["guide"], "guide")
            personal = [a.to_dict() for a in routed.applications] or None
        else:
            personal = application.to_dict() if application is not None else None
        if personal is not None:
            refuse_my_number(personal)
        key = uuid.uuid4().hex
        issued = self.now()
        with self.store.write() as conn:
            self._insert_ticket(conn, key, body, issued, personal, not_before=IN_FLIGHT)
        try:
            return self._issue(key, body, personal)
        finally:
            if personal is not None:
                # Set once its sealed copy is deleted (acknowledged, refused, withdrawn),
                # not before: a truncation by the link's thread while the request is on
                # its way would clear the flag and leave the deleted copy in the files.
                self._purge_due = True

    def _issue(self, key: str, body: dict[str, Any], app: Personal) -> IssuedTicket:
        """Online when the back-office answers, else from the offline numbers."""
        maybe_sent = False
        if self._online is not False:
            try:
                answer = self.client.post(
                    f"{API}/tickets", {**body, **with_personal(app)},
                    idempotency_key=key, attempts=2,
                    deadline=time.monotonic() + self.settings.backoffice.issue_timeout)
            except Rejected as exc:
                self._reached(True)
                with self.store.write() as conn:
                    conn.execute(outbox.delete().where(outbox.c.key == key))
                    conn.execute(tickets.delete().where(tickets.c.key == key))
                raise IssueRefused(exc.code, exc.message) from None
            except Unreachable as exc:
                self._reached(False)
                maybe_sent = exc.maybe_sent
            else:
                self._reached(True)
                return self._issued_online(key, body, answer)
        return self._issue_offline(key, body, app, maybe_sent)

    def _insert_ticket(self, conn: Any, key: str, body: dict[str, Any], issued: datetime,
                       app: Personal, *, not_before: float,
                       offline: dict[str, Any] | None = None, number: str | None = None,
                       status_url: str | None = None) -> None:
        conn.execute(tickets.insert().values(
            key=key, service=body["service"], procedure=body.get("procedure"),
            priority=body["priority"] != "normal", language=body["language"],
            issued_at=issued.isoformat(), day=issued.date().isoformat(), number=number,
            offline=offline is not None, status_url=status_url))
        sealed = self.sealer.seal(app, key) if app is not None else None
        enqueue(conn, kind="ticket", key=key, ticket_key=key,
                payload={"body": body, "offline": offline}, sealed=sealed,
                not_before=not_before)

    def _issued_online(self, key: str, body: dict[str, Any], answer: dict[str, Any]
                       ) -> IssuedTicket:
        number = str(answer["number"])
        with self.store.write() as conn:
            conn.execute(tickets.update().where(tickets.c.key == key).values(
                number=number, server_id=str(answer.get("id")), acked=True,
                status_url=answer.get("status_url")))
            conn.execute(outbox.delete().where(outbox.c.key == key))
        self.store.flush_soon()
        issued = parse_time(answer.get("issued_at")) or self.now()
        return IssuedTicket(
            key=key, number=number, service=str(answer.get("service", body["service"])),
            procedure=body.get("procedure"), language=body["language"],
            priority=body["priority"], issued_at=issued, offline=False,
            people_ahead=answer.get("people_ahead"),
            wait_minutes=minutes(answer.get("estimated_wait_seconds")),
            status_url=answer.get("status_url"), fee_yen=answer.get("fee_yen"),
            route=tuple(answer["route"]) if isinstance(answer.get("route"), list) else None)

    def _issue_offline(self, key: str, body: dict[str, Any], app: Personal,
                       maybe_sent: bool) -> IssuedTicket:
        issued = self.now()
        day = issued.date().isoformat()
        # Durable even on synchronous=NORMAL: this number exists nowhere else yet, and
        # forgetting it after a power cut would hand it out twice.
        with self.store.write(durable=True) as conn:
            n = blocks.take(conn, body["service"], day)
            if maybe_sent:
                # The online try may have created a ticket under `key` that nobody will
                # hold: withdraw it, and give the printed ticket a key of its own.
                # A void needs only the key: the personal data goes now.
                conn.execute(outbox.update().where(outbox.c.key == key)
                             .values(kind="void", not_before=time.time() + self._void_grace(),
                                     sealed=None))
                conn.execute(tickets.delete().where(tickets.c.key == key))
                if n is not None:
                    key = uuid.uuid4().hex
                    offline = self._offline_part(n, issued)
                    self._insert_ticket(conn, key, body, issued, app, not_before=0.0,
                                        offline=offline, number=n.text,
                                        status_url=self._status_url(offline["status_token"]))
            elif n is not None:
                offline = self._offline_part(n, issued)
                conn.execute(tickets.update().where(tickets.c.key == key).values(
                    number=n.text, offline=True, issued_at=issued.isoformat(), day=day,
                    status_url=self._status_url(offline["status_token"])))
                conn.execute(outbox.update().where(outbox.c.key == key).values(
                    not_before=0.0, payload=json.dumps({"body": body, "offline": offline},
                                                       ensure_ascii=False)))
            else:
                conn.execute(outbox.delete().where(outbox.c.key == key))
                conn.execute(tickets.delete().where(tickets.c.key == key))
        if n is None:
            raise NoOfflineNumbers(body["service"])
        return IssuedTicket(key=key, number=n.text, service=body["service"],
                            procedure=body.get("procedure"), language=body["language"],
                            priority=body["priority"], issued_at=issued, offline=True,
                            status_url=self._status_url(offline["status_token"]))

    def _void_grace(self) -> float:
        # Ask whether a lost request arrived only once it can no longer be on its way.
        b = self.settings.backoffice
        return 2 * (b.connect_timeout + b.read_timeout)

    @staticmethod
    def _offline_part(n: blocks.OfflineNumber, issued: datetime) -> dict[str, Any]:
        block_id: int | str = int(n.block_id) if n.block_id.isdigit() else n.block_id
        # The kiosk chooses the phone status token, so an offline ticket gets its QR too.
        return {"block_id": block_id, "number": n.value, "issued_at": issued.isoformat(),
                "status_token": secrets.token_urlsafe(32)}

    def _status_url(self, token: str) -> str | None:
        base = self._public_url
        return f"{base.rstrip('/')}/status/{token}" if base else None

    # -- a booking's check-in (issue #19) -----------------------------------------------
    def check_in(self, code: str, *, routed: RoutedVisit | None = None,
                 forms_first: bool = False) -> dict[str, Any]:
        """A booking's queue ticket (`POST /appointments/check-in`), online only: the
        booking lives on the back-office, so nothing is stored here and nothing can be
        lost; the back-office answers the same ticket to the same code (idempotent).
        A code that is no booking is tried as a place in today's queue taken from home
        (`POST /remote/check-in`: `remote` instead of `appointment`).
        Returns its answer (`appointment`, `late`, `ticket`); raises `IssueRefused`
        (code, message, details) or `Offline` within `issue_timeout`.

        A life-event booking: `forms_first` asks for no ticket yet (`ticket` None); then
        `routed` (the visit's route, forms and guide) makes it the routed ticket. The
        forms travel only in this request (checked for a 個人番号 first), never stored
        here: when it fails the app issues the visit through `issue_ticket` instead."""
        body: dict[str, Any] = {"code": code, "forms_first": forms_first}
        if routed is not None:
            body.update(routed.wire())
            refuse_my_number(body["guide"], "guide")
            body["applications"] = [a.to_dict() for a in routed.applications]
            refuse_my_number(body["applications"])
        try:
            answer = self._check_in("appointments", body, code)
        except IssueRefused as refused:
            if refused.code != "no_booking" or routed is not None:
                raise   # (forms_first is asked by every kiosk that knows life events)
            # The same code format is a place in today's queue taken from home (docs/home.md):
            # its ticket, queued when the place was taken. Not a place either: no booking.
            try:
                answer = self._check_in("remote", {"code": code}, code)
            except IssueRefused as exc:
                if exc.code == "no_place":
                    raise refused from None
                raise
        return answer

    def _check_in(self, kind: str, body: dict[str, Any], code: str) -> dict[str, Any]:
        try:
            answer = self.client.post(
                f"{API}/{kind}/check-in", body, attempts=2,
                idempotency_key=f"check-in-{kind}-{code}",
                deadline=time.monotonic() + self.settings.backoffice.issue_timeout)
        except Rejected as exc:
            self._reached(True)
            raise IssueRefused(exc.code, exc.message, exc.details) from None
        except Unreachable as exc:
            self._reached(False)
            raise Offline(str(exc)) from None
        self._reached(True)
        return dict(answer)

    # -- other pushes ----------------------------------------------------------------------
    def report_health(self, printer: str, card_reader: str, disk_free_mb: int | None = None,
                      app_version: str | None = None, message: str = "", **extra: str) -> None:
        """Record the device health; the latest is sent with the next heartbeat (soon)."""
        components: dict[str, str] = {"printer": printer, "card_reader": card_reader,
                                      **{k: str(v) for k, v in extra.items()}}
        states = set(components.values())
        if disk_free_mb is not None:
            components["disk_free_mb"] = str(disk_free_mb)   # the API takes text values
        status = ("error" if "error" in states else
                  "ok" if states <= {"ok"} else "degraded")
        self._put_cache("health", {"status": status, "version": app_version or __version__,
                                   "components": components, "message": message[:500]})
        self._health_due = True
        self._kick.set()

    def report_maintainer(self, attempts: dict[str, Any]) -> None:
        """The maintainer-PIN attempts so far (counts of ok / wrong / locked, the last one,
        the lock): sent with the next heartbeat, which comes at once."""
        self._put_cache("maintainer", attempts)
        self._health_due = True
        self._kick.set()

    def report_update(self, update: dict[str, Any]) -> None:
        """The update agent's state (kiosk/fleet/agent.py): sent with the next heartbeat,
        which comes at once."""
        self._put_cache("update", update)
        self._health_due = True
        self._kick.set()

    def ask_floor(self, place: str = "", reason: str = "ask_staff") -> bool:
        """Alert the floor staff (案内係) that a resident at this kiosk wants a person:
        the kiosk (its token) and its place, nothing about the resident. One try, now:
        an alert that comes late is no help, and the assistance ticket tells the counter
        anyway. True when the back-office took it."""
        try:
            self.client.post(f"{API}/floor/requests", {"place": place, "reason": reason},
                             attempts=1)
        except (Unreachable, Rejected) as exc:  # the ticket still says "assistance"
            log.warning("floor staff not alerted: %s", type(exc).__name__)
            return False
        return True

    # -- pulls (served from the cache; the link's thread refreshes it) ---------------------
    def catalog(self) -> Catalog:
        if self._catalog is not None:
            return self._catalog
        if self._local_catalog is None:
            self._local_catalog = load_catalog()
        return self._local_catalog

    def opening_state(self, now: datetime | None = None) -> OpeningState:
        """Open now? The back-office's word when fresh (hours, manual open/closed and
        whether it enforces hours at all); else the cached or local hours."""
        at = (now or self.now()).astimezone(self._tz)
        try:
            hours: OpeningHours | None = self.catalog().ward(self.ward).hours
        except KeyError:
            hours = None
        opens, closes = (hours.opens, hours.closes) if hours else (None, None)
        waits = self._cached("waits")
        if now is None and waits and isinstance(waits.get("open_now"), bool) \
                and self._fresh("waits"):
            return OpeningState(waits["open_now"], opens, closes, "backoffice")
        config = self._cached("config")
        if config:
            state = config.get("ward", {}).get("state", "auto")
            if state in ("open", "closed"):
                return OpeningState(state == "open", opens, closes, "cache")
            if hours is not None:
                return OpeningState(hours.is_open(at.weekday(), at.time()), opens, closes,
                                    "cache")
        if hours is None:
            return OpeningState(False, None, None, "config")
        return OpeningState(hours.is_open(at.weekday(), at.time()), opens, closes, "config")

    def _fresh(self, name: str) -> bool:
        fetched = self._cached_at(name)
        return fetched is not None and \
            time.time() - fetched <= 3 * self.settings.backoffice.wait_seconds

    def wait_estimates(self) -> dict[str, WaitEstimate]:
        body = self._cached("waits")
        fetched = self._cached_at("waits")
        if not body or fetched is None:
            return {}
        fresh = self._fresh("waits")
        as_of = datetime.fromtimestamp(fetched, self._tz)
        out: dict[str, WaitEstimate] = {}
        for s in body.get("services", []):
            code = str(s.get("code"))
            out[code] = WaitEstimate(
                service=code, waiting=s.get("waiting_count") if fresh else None,
                minutes=minutes(s.get("estimated_wait_seconds")) if fresh else None,
                as_of=as_of, fresh=fresh)
        return out

    def status(self) -> LinkStatus:
        with self.store.read() as conn:
            pending, dead = counts(conn)
            left = blocks.left(conn, self.now().date().isoformat())
        last = (datetime.fromtimestamp(self._last_contact, self._tz)
                if self._last_contact else None)
        return LinkStatus(online=self.online, pending=pending, dead=dead, last_contact=last,
                          offline_numbers_left=left, clock_offset_seconds=self._offset)

    def ticket_id(self, key: str) -> int | None:
        """The back-office's id of a ticket issued here (None until it is synced)."""
        with self.store.read() as conn:
            value = conn.execute(select(tickets.c.server_id).where(tickets.c.key == key)
                                 ).scalar()
        return int(value) if value and value.isdigit() else None

    def endpoint(self) -> Endpoint:
        """Where and how to reach the back-office, for online-only flows (payment) that
        the kiosk's other packages run themselves."""
        b = self.settings.backoffice
        return Endpoint(url=b.url, token=self.client.token,
                        verify=b.verify,
                        timeout_s=b.read_timeout)

    def pending(self) -> int:
        with self.store.read() as conn:
            return counts(conn)[0]

    # -- the link's thread -----------------------------------------------------------------
    def _run(self) -> None:
        b = self.settings.backoffice
        fails = 0
        next_try = 0.0
        last_hb = last_waits = last_config = -1e9
        next_dead_purge = 0.0
        while not self._stopping.is_set():
            now = time.monotonic()
            if now >= next_try:
                try:
                    if self._online is not True or self._health_due or \
                            now - last_hb >= b.heartbeat_seconds:
                        self._heartbeat()          # also the probe when offline
                        last_hb = now
                    if self._config_due or now - last_config >= b.pull_seconds:
                        self._pull_config()
                        last_config = now
                    self._top_up()
                    acked, failed = self.sender.drain()
                    if failed:
                        raise Unreachable("outbox stuck")
                    if acked:
                        self._purge_due = True
                    if now - last_waits >= b.wait_seconds:
                        self._pull_waits()
                        last_waits = now
                    fails = 0
                except Unreachable as exc:
                    self._reached(False)
                    next_try = time.monotonic() + backoff_delay(fails, b.backoff_base,
                                                                b.backoff_max)
                    fails += 1
                    log.debug("back-office unreachable (%s); next try in %.1f s", exc,
                              next_try - time.monotonic())
                except Rejected as exc:
                    # e.g. a revoked device token: keep everything, say it, try again later.
                    log.error("back-office refused the kiosk: %s", exc)
                    next_try = time.monotonic() + b.backoff_max
                except Exception:
                    log.exception("kiosk link loop failed; retrying")
                    next_try = time.monotonic() + b.backoff_max
            if now >= next_dead_purge:          # offline too: nothing to send for it
                self._purge_dead_safely()
                next_dead_purge = now + DEAD_PURGE_S
            if self._purge_due:
                self._purge()
            wait = max(0.0, min(0.5, next_try - time.monotonic()))
            self._kick.wait(wait if wait > 0 else 0.5)
            self._kick.clear()

    def purge_dead(self) -> int:
        """Delete refused messages older than [store] dead_max_days, sealed personal data
        and all, off the disk (WAL truncated too). Returns how many were deleted."""
        days = self.settings.store.dead_max_days
        with self.store.write() as conn:
            n = purge_dead(conn, time.time() - days * 86400)
        if n:
            log.warning("outbox: deleted %d refused message(s) written more than %d day(s) "
                        "ago, with their personal data", n, days)
            self._purge_due = True
            self._purge()
        return n

    def _purge_dead_safely(self) -> None:
        try:
            self.purge_dead()
        except Exception:  # the disk or the lock: try again at the next round
            log.exception("could not delete the expired refused messages; retrying later")

    def _purge(self) -> None:
        """Acknowledged (sealed) personal data off the disk: the rows are deleted and
        zeroed (secure_delete), their old copies in the WAL go here."""
        self._purge_due = False
        try:
            done = self.store.purge_wal()
        except Exception:
            log.exception("could not truncate the store's WAL; retrying")
            done = False
        if not done:
            # Never cleared after the truncation: another thread may have set it for a
            # deletion the truncation came too early for.
            self._purge_due = True

    def _timed(self, call: Callable[[], Any]) -> tuple[Any, float, float]:
        sent = self._clock()
        answer = call()
        return answer, sent, self._clock()

    def _heartbeat(self) -> None:
        health = self._cached("health") or {"status": "ok", "version": __version__,
                                            "components": {}}
        body = {**health, "outbox_pending": self.pending(),
                "uptime_seconds": int(time.monotonic() - self._started)}
        if self._last_contact is not None:
            body["last_sync"] = datetime.fromtimestamp(self._last_contact, UTC).isoformat()
        maintainer = self._cached("maintainer")
        if maintainer:
            body["maintainer_unlock"] = maintainer
        update = self._cached("update")
        if update:
            body["update"] = update
        try:
            answer, sent, received = self._timed(lambda: self.client.post(
                f"{API}/device/heartbeat", body, attempts=1))
        except Rejected as exc:
            # A health report the back-office cannot take must not stop the outbox.
            log.error("back-office refused the heartbeat: %s", exc)
            self._health_due = False
            return
        self._reached(True)
        self._health_due = False
        if isinstance(answer, dict):
            self._learn_clock(answer.get("server_time"), sent, received)
            version = answer.get("config_version")
            if version and version != self._config_version:
                self._config_due = True

    def _pull_config(self) -> None:
        answer, sent, received = self._timed(lambda: self.client.get(f"{API}/device/config"))
        self._reached(True)
        self._learn_clock(answer.get("server_time"), sent, received)
        try:
            catalog = catalog_from_config(answer)
        except (ConfigError, KeyError, TypeError, ValueError) as exc:
            log.error("back-office config not usable, keeping the previous one: %s", exc)
            catalog = None
        if answer.get("timezone"):
            self._tz = ZoneInfo(answer["timezone"])
        self._public_url = answer.get("public_url") or None
        self._put_cache("config", answer)
        self._config_due = False
        if catalog is not None:
            changed = answer.get("version") != self._config_version
            self._catalog = catalog
            self._config_version = answer.get("version")
            if changed:
                self._notify("catalog")
        self._notify("hours")

    def _pull_waits(self) -> None:
        answer = self.client.get(f"{API}/wards/{self.ward}/estimates", attempts=1)
        self._put_cache("waits", answer)
        self._notify("waits")

    def _top_up(self) -> None:
        s = self.settings.store
        today = self.now().date()
        day = today.isoformat()
        try:
            services = self.catalog().ward(self.ward).services
        except KeyError:
            return
        with self.store.write() as conn:
            blocks.forget_before(conn, day)
            left = blocks.left(conn, day)
        for service in services:
            if left.get(service, 0) >= s.block_refill_below or \
                    (service, day) in self._blocks_exhausted:
                continue
            key = self._block_keys.setdefault((service, day), f"blk-{uuid.uuid4().hex}")
            try:
                answer = self.client.post(
                    f"{API}/number-blocks", {"service": service, "day": day,
                                             "size": s.block_size},
                    idempotency_key=key, attempts=1)
            except Rejected as exc:
                if exc.code != "offline_numbers_exhausted":
                    raise
                log.warning("no more offline numbers for %s on %s: %s", service, day, exc)
                self._blocks_exhausted.add((service, day))
                continue
            with self.store.write() as conn:
                blocks.add_block(conn, answer)
            self._block_keys.pop((service, day), None)
            log.info("reserved offline numbers %s-%s for %s on %s", answer.get("first"),
                     answer.get("last"), service, day)

    # -- tests and maintenance ---------------------------------------------------------------
    def sync_now(self, budget_s: float = 10.0) -> int:
        """Send what is due right now from the caller's thread; returns messages acked."""
        acked, _ = self.sender.drain(budget_s)
        if acked:
            self._purge()
        return acked

    def tomorrow(self) -> str:
        return (self.now() + timedelta(days=1)).date().isoformat()
