"""[notify] of config/backoffice.toml: notifications to residents (issue #19) — Web Push
(RFC 8030/8291, VAPID RFC 8292) and e-mail through the ward's SMTP relay; when "N ahead"
is sent, the day-before reminder's hour, the bounded retries, which push services the
server may post to. See docs/home.md, "Notifications"."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from kiosk.domain.section import Section

# A push service's endpoint prefix: the server only ever posts to these (no open relay).
_PUSH_PREFIX = re.compile(r"^https?://[A-Za-z0-9.-]+(?::\d{1,5})?/")
_EMAIL = re.compile(r"^[^@\s<>\"]+@[A-Za-z0-9.-]+$")

# The browsers' push services (Chrome/Edge, Firefox, Safari, Windows).
DEFAULT_PUSH_SERVICES = (
    "https://fcm.googleapis.com/", "https://updates.push.services.mozilla.com/",
    "https://web.push.apple.com/", "https://wns2-par02p.notify.windows.com/",
)


@dataclass(frozen=True)
class SmtpSettings:
    host: str = ""                  # "" = no e-mail (the page offers none)
    port: int = 25
    starttls: bool = True           # STARTTLS first (the relay's certificate checked)
    sender: str = "no-reply@example.invalid"
    username: str = ""              # "" = no AUTH; the password from password_env
    password_env: str = "WARD_SMTP_PASSWORD"  # noqa: S105 — the variable's name
    timeout_seconds: int = 10


@dataclass(frozen=True)
class NotifySettings:
    enabled: bool = True
    ahead: int = 3                  # "N ahead": sent once when this many or fewer are ahead
    poll_seconds: float = 1.0       # the delivery worker looks for due rows this often
    max_attempts: int = 5           # then the row is given up (status "failed", counted)
    backoff_seconds: float = 2.0    # the wait after the first failure, doubled each time …
    backoff_max_seconds: float = 300.0  # … at most this
    reminder_hour: int = 17         # the day-before reminder is sent from this local hour
    timer_seconds: float = 60.0     # how often the worker queues reminders and purges
    vapid_private_key: str = ""     # PEM file (ward-backoffice vapid-keys); "" = no Web Push
    vapid_subject: str = "mailto:no-reply@example.invalid"
    push_services: tuple[str, ...] = DEFAULT_PUSH_SERVICES
    push_ttl_seconds: int = 3600    # RFC 8030 TTL: how long the push service may keep it
    timeout_seconds: float = 5.0    # one delivery attempt (push POST)
    smtp: SmtpSettings = field(default_factory=SmtpSettings)

    @property
    def push_on(self) -> bool:
        return self.enabled and bool(self.vapid_private_key)

    @property
    def email_on(self) -> bool:
        return self.enabled and bool(self.smtp.host)

    def push_allowed(self, endpoint: str) -> bool:
        return any(endpoint.startswith(p) for p in self.push_services)


def valid_email(address: str) -> bool:
    return len(address) <= 254 and bool(_EMAIL.fullmatch(address))


def _maybe(s: Section, name: str, default: str) -> str:
    """A string that may be "" (off)."""
    if s.data.get(name) == "":
        return ""
    return s.text(name, default)


def _smtp(s: Section) -> SmtpSettings:
    d = SmtpSettings()
    s.unknown_keys(tuple(SmtpSettings.__dataclass_fields__))
    sender = s.text("sender", d.sender)
    if not valid_email(sender):
        raise s.error("sender", f"must be an e-mail address, got {sender!r}")
    return SmtpSettings(
        host=_maybe(s, "host", d.host), port=s.integer("port", d.port, min=1, max=65535),
        starttls=s.flag("starttls", d.starttls), sender=sender,
        username=_maybe(s, "username", d.username),
        password_env=s.text("password_env", d.password_env),
        timeout_seconds=s.integer("timeout_seconds", d.timeout_seconds, min=1, max=120))


def notify_settings(n: Section) -> NotifySettings:
    d = NotifySettings()
    n.unknown_keys(tuple(NotifySettings.__dataclass_fields__))
    services = n.texts("push_services", d.push_services)
    for prefix in services:
        if not _PUSH_PREFIX.match(prefix) or not prefix.endswith("/"):
            raise n.error("push_services", f"each must be http(s)://host[:port]/…/, "
                                           f"got {prefix!r}")
    subject = n.text("vapid_subject", d.vapid_subject)
    if not subject.startswith(("mailto:", "https://")):
        raise n.error("vapid_subject", f"must be a mailto: or https: URL, got {subject!r}")
    out = NotifySettings(
        enabled=n.flag("enabled", d.enabled),
        ahead=n.integer("ahead", d.ahead, min=1, max=100),
        poll_seconds=n.number("poll_seconds", d.poll_seconds, min=0.05),
        max_attempts=n.integer("max_attempts", d.max_attempts, min=1, max=50),
        backoff_seconds=n.number("backoff_seconds", d.backoff_seconds, min=0.01),
        backoff_max_seconds=n.number("backoff_max_seconds", d.backoff_max_seconds, min=0.01),
        reminder_hour=n.integer("reminder_hour", d.reminder_hour, min=0, max=23),
        timer_seconds=n.number("timer_seconds", d.timer_seconds, min=0.1),
        vapid_private_key=_maybe(n, "vapid_private_key", d.vapid_private_key),
        vapid_subject=subject, push_services=services,
        push_ttl_seconds=n.integer("push_ttl_seconds", d.push_ttl_seconds, min=0,
                                   max=28 * 86400),
        timeout_seconds=n.number("timeout_seconds", d.timeout_seconds, min=0.1),
        smtp=_smtp(n.section("smtp", {})))
    return out
