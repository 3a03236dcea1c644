"""Notification stand-ins for tests (issue #19): the push service of hardware/push_service.py,
a local SMTP server (aiosmtpd) that keeps what it receives, a VAPID key, and the
`[notify]` config pointing a back-office at them."""

from __future__ import annotations

import email
import email.policy
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from hardware.push_service import PushService
from tests.support.postgres import free_port


@dataclass
class Mail:
    to: list[str]
    subject: str
    body: str


class Mailbox:
    """An SMTP server on 127.0.0.1 (no TLS: the config sets starttls = false)."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.mails: list[Mail] = []
        self._changed = threading.Condition()
        box = self

        class Handler:
            async def handle_DATA(self, _server: Any, _session: Any,
                                  envelope: Any) -> str:
                msg = email.message_from_bytes(envelope.content, _class=EmailMessage,
                                               policy=email.policy.default)
                body = msg.get_body(("plain",))
                with box._changed:
                    box.mails.append(Mail(list(envelope.rcpt_tos), str(msg["Subject"]),
                                          body.get_content() if body else ""))
                    box._changed.notify_all()
                return "250 OK"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def to(self, address: str) -> list[Mail]:
        with self._changed:
            return [m for m in self.mails if address in m.to]

    def wait_for(self, address: str, count: int, timeout: float = 15.0) -> list[Mail]:
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                got = [m for m in self.mails if address in m.to]
                left = deadline - time.monotonic()
                if len(got) >= count or left <= 0:
                    return got
                self._changed.wait(left)

    def close(self) -> None:
        self.controller.stop()


@pytest.fixture(scope="module")
def push_service() -> Iterator[PushService]:
    service = PushService().start()
    try:
        yield service
    finally:
        service.close()


@pytest.fixture(scope="module")
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox()
    try:
        yield box
    finally:
        box.close()


def vapid_key(directory: Path) -> tuple[Path, str]:
    from kiosk.backoffice.webpush import new_key_pem

    pem, public = new_key_pem()
    path = directory / "vapid.pem"
    path.write_bytes(pem)
    return path, public


def notify_config(directory: Path, push: PushService, mailbox: Mailbox, *,
                  down_origin: str = "", **extra: Any) -> tuple[dict[str, Any], str]:
    """The [notify] section for a server using the stand-ins, and the VAPID public key."""
    path, public = vapid_key(directory)
    services = [push.origin + "/"] + ([down_origin + "/"] if down_origin else [])
    section = {"vapid_private_key": str(path), "vapid_subject": "mailto:ward@example.org",
               "push_services": services, "poll_seconds": 0.1, "backoff_seconds": 0.2,
               "backoff_max_seconds": 1.0, "max_attempts": 3, "timeout_seconds": 2.0,
               "timer_seconds": 0.5,
               "smtp": {"host": "127.0.0.1", "port": mailbox.port, "starttls": False,
                        "sender": "madoguchi@example.org"}, **extra}
    return {"notify": section}, public
