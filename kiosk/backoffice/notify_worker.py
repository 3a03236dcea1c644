"""The delivery worker: a thread of each server process that sends the outbox's due rows
(engine/notify.py) by Web Push or e-mail, every `[notify] poll_seconds`.

It is apart from the requests: its own thread (not the request threads' pool), its own
short database transactions, a timeout on every delivery. A push service or relay that is
down costs the worker retries (doubling waits, at most `max_attempts`, then the row is
given up and counted), never a queue action. 404/410 from a push service deletes the
subscription. Several processes share the table: each row is claimed by one of them.
Logs name the row id, kind, channel and the answer — never an address or an endpoint.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import requests

from kiosk.backoffice import mailer, webpush
from kiosk.backoffice.context import Backoffice
from kiosk.backoffice.db import safe_error
from kiosk.backoffice.engine import notify
from kiosk.backoffice.notify_texts import render

log = logging.getLogger(__name__)


class Worker:
    def __init__(self, bo: Backoffice) -> None:
        self.bo = bo
        n = bo.settings.notify
        self.vapid = (webpush.Vapid.from_file(n.vapid_private_key, n.vapid_subject)
                      if n.push_on else None)
        self.session = requests.Session()
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._run, name="notify-worker", daemon=True)
        self.stats = {"sent": 0, "retry": 0, "failed": 0, "dropped": 0}
        self._since_timer = bo.settings.notify.timer_seconds

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stop_event.set()
        self.thread.join(timeout=self.bo.settings.notify.timeout_seconds + 5)
        self.session.close()

    def _run(self) -> None:
        every = self.bo.settings.notify.poll_seconds
        while not self.stop_event.is_set():
            try:
                self.tick()
            except Exception as exc:  # noqa: BLE001 — the next tick tries again
                log.error("notification worker: %s", safe_error(exc))
            self.stop_event.wait(every)

    def tick(self) -> int:
        """One pass: the timer's work (now and then), then every due row. Returns how many
        rows were attempted."""
        n = self.bo.settings.notify
        self._since_timer += n.poll_seconds
        if self._since_timer >= n.timer_seconds:
            self._since_timer = 0.0
            notify.schedule_reminders(self.bo)
            notify.purge(self.bo)
        done = 0
        while not self.stop_event.is_set():
            rows = notify.claim_due(self.bo)
            if not rows:
                return done
            for row in rows:
                self.deliver(row)
                done += 1
        return done

    def deliver(self, row: Any) -> str:
        bo = self.bo
        if row.target is None:
            outcome = notify.finish(bo, row, "gone", "subscription gone")
        else:
            try:
                title, body = render(bo, row.kind, row.language, row.data)
                if row.channel == "push":
                    if self.vapid is None:
                        raise webpush.PushFailed("Web Push is off", False)
                    webpush.send(self.vapid, row.target, row.p256dh, row.auth,
                                 {"title": title, "body": body, "kind": row.kind,
                                  "tag": f"{row.kind}-{row.data.get('number', '')}"},
                                 ttl=bo.settings.notify.push_ttl_seconds,
                                 timeout=bo.settings.notify.timeout_seconds,
                                 session=self.session)
                else:
                    mailer.send_mail(bo.settings.notify.smtp, row.target, title, body)
                outcome = notify.finish(bo, row, "sent")
            except webpush.PushGone as exc:
                outcome = notify.finish(bo, row, "gone", str(exc))
            except (webpush.PushFailed, mailer.MailFailed) as exc:
                outcome = notify.finish(bo, row, "failed", str(exc), retry=exc.retry)
            except Exception as exc:  # noqa: BLE001 — a bad row must not stop the others
                outcome = notify.finish(bo, row, "failed", type(exc).__name__, retry=True)
        key = "retry" if outcome == "retry" else outcome
        self.stats[key] = self.stats.get(key, 0) + 1
        if outcome != "sent":
            log.warning("notification %d (%s by %s, attempt %d): %s", row.id, row.kind,
                        row.channel, row.attempts, outcome)
        return outcome
