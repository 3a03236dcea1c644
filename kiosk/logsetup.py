"""Logging for every process of the product, with personal data redacted.

The filter is the last line of defence, not the first: code must not log personal data
in the first place. It masks what slips through anyway — a 12-digit 個人番号, a 4-digit
PIN next to the word pin, a VERIFY APDU's data, and any value passed in ``extra`` under
a personal key — before a record reaches any handler. A traceback keeps its frames but
not the exceptions' messages: those quote whatever value failed (a name, an address, an
SQL statement's parameters), which no pattern can recognise.

`configure()` is the set-up of every process: one stderr handler (systemd puts it in
the journal) behind the filter, and uncaught exceptions of the main thread and of other
threads logged through it instead of printed raw. `uvicorn_log_config()` does the same
for uvicorn's own loggers.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import threading
import traceback
from types import TracebackType
from typing import Any

# 12 digits not part of a longer digit run (ASCII or full-width, optional separators).
_MY_NUMBER = re.compile(r"(?<![0-9０-９])(?:[0-9０-９][ -]?){11}[0-9０-９](?![0-9０-９])")
# "pin=1234", "PIN: 1234", "'pin': '1234'"
_PIN = re.compile(r"(?i)(pin[\"']?\s*[:=]\s*[\"']?)\d{4,8}")
# VERIFY APDU: 00 20 00 80 04 + 4 ASCII digits, in hex with or without spaces.
_VERIFY_APDU = re.compile(r"(?i)(00\s?20\s?00\s?80\s?04\s?)((?:3[0-9]\s?){4})")

PERSONAL_KEYS = frozenset({
    "pin", "my_number", "individual_number", "name", "address", "birth_date", "sex",
    "kana", "phone",
})

MASK = "[REDACTED]"

# Attributes every LogRecord has (record.name is the logger's name, not a person's):
# only fields added through ``extra`` are candidates for masking.
_STANDARD_ATTRS = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__)


# A payment provider's request signature (PayPay: "hmac OPA-Auth:<api key>:<mac>:...").
_OPA_AUTH = re.compile(r"(OPA-Auth:)[^\s'\"]+")


def redact(text: str) -> str:
    text = _OPA_AUTH.sub(lambda m: m.group(1) + MASK, text)
    text = _VERIFY_APDU.sub(lambda m: m.group(1) + "** ** ** **", text)
    text = _PIN.sub(lambda m: m.group(1) + "****", text)
    return _MY_NUMBER.sub("************", text)


class RedactionFilter(logging.Filter):
    """Masks personal data in the message, its arguments and personal ``extra`` fields."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a broken format string must not kill logging
            message = str(record.msg)
        record.msg = redact(message)
        record.args = None
        for key in (PERSONAL_KEYS & record.__dict__.keys()) - _STANDARD_ATTRS:
            setattr(record, key, MASK)
        if record.exc_info and record.exc_info[1] is not None:
            # Format now, without the messages, and drop the raw exception.
            record.exc_text = redact(safe_traceback(record.exc_info[1]))
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


def _message(exc: BaseException) -> str:
    """What of an exception's message may be logged: the operating system's own words
    for an OS error (errno, strerror, file name), the message of an error class that
    declares `log_safe = True` (device and configuration errors whose messages are built
    without residents' data: a maintainer needs them to tell why a kiosk shows what it
    shows), else only its length."""
    if isinstance(exc, OSError) and type(exc).__module__ == "builtins" and exc.errno:
        return str(exc)
    if getattr(type(exc), "log_safe", False) is True:
        return str(exc)
    text = str(exc)
    return f"[message withheld, {len(text)} characters]" if text else ""


def safe_traceback(exc: BaseException) -> str:
    """The traceback as Python prints it (chained exceptions included), each exception's
    message replaced by `_message`."""
    chain: list[tuple[BaseException, str]] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    link = ""
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append((current, link))
        if current.__cause__ is not None:
            current, link = current.__cause__, ("The above exception was the direct cause "
                                                "of the following exception:")
        elif current.__context__ is not None and not current.__suppress_context__:
            current, link = current.__context__, ("During handling of the above exception, "
                                                  "another exception occurred:")
        else:
            current = None
    parts: list[str] = []
    for item, follows in reversed(chain):
        frames = traceback.format_tb(item.__traceback__)
        if frames:
            parts.append("Traceback (most recent call last):\n" + "".join(frames))
        kind = type(item)
        name = kind.__qualname__ if kind.__module__ in ("builtins", "__main__") \
            else f"{kind.__module__}.{kind.__qualname__}"
        message = _message(item)
        parts.append(f"{name}: {message}\n" if message else f"{name}\n")
        if follows:
            parts.append(f"\n{follows}\n\n")
    return "".join(parts).rstrip("\n")


def install_redaction(logger: logging.Logger | None = None) -> None:
    """Attach the filter to every handler of `logger` (root by default).

    Handler-level, because logger-level filters do not see records propagated from
    child loggers.
    """
    target = logger or logging.getLogger()
    for handler in target.handlers:
        if not any(isinstance(f, RedactionFilter) for f in handler.filters):
            handler.addFilter(RedactionFilter())


FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
JOURNAL_FORMAT = "%(levelname)s %(name)s: %(message)s"   # the journal keeps the time
# Python level -> syslog priority, highest first.
JOURNAL_PRIORITY = ((logging.CRITICAL, 2), (logging.ERROR, 3), (logging.WARNING, 4),
                    (logging.INFO, 6))


class JournalFormatter(logging.Formatter):
    """Each line begins with its syslog priority (<2> critical ... <6> info): journald
    files it at that level (SyslogLevelPrefix=), so critical lines reach the console."""

    def format(self, record: logging.LogRecord) -> str:
        priority = next((p for level, p in JOURNAL_PRIORITY if record.levelno >= level), 7)
        return f"<{priority}>" + super().format(record).replace("\n", f"\n<{priority}>")


def _to_journal(stream: Any) -> bool:
    """Whether `stream` is the journal's stream systemd gave this service ($JOURNAL_STREAM
    names its device and inode)."""
    try:
        st = os.fstat(stream.fileno())
    except (AttributeError, OSError, ValueError):
        return False
    return os.environ.get("JOURNAL_STREAM", "") == f"{st.st_dev}:{st.st_ino}"


def configure(level: str | int = "INFO", *, stream: Any = None) -> None:
    """Set up root logging once for a process (CLI, server, kiosk app): one handler on
    stderr behind the redaction filter; under systemd, lines carry their priority."""
    root = logging.getLogger()
    if not root.handlers:
        out = stream or sys.stderr
        handler = logging.StreamHandler(out)
        handler.setFormatter(JournalFormatter(JOURNAL_FORMAT) if _to_journal(out)
                             else logging.Formatter(FORMAT))
        root.addHandler(handler)
    root.setLevel(level.upper() if isinstance(level, str) else level)
    install_redaction(root)
    log_uncaught()


_crash_log = logging.getLogger("kiosk.uncaught")


def _log_uncaught(kind: type[BaseException], exc: BaseException,
                  tb: TracebackType | None) -> None:
    if issubclass(kind, KeyboardInterrupt):
        sys.__excepthook__(kind, exc, tb)   # Ctrl-C stays Ctrl-C (no data in it)
        return
    _crash_log.critical("uncaught exception", exc_info=(kind, exc, tb))


def _log_uncaught_in_thread(args: threading.ExceptHookArgs) -> None:
    if args.exc_value is None or issubclass(args.exc_type, SystemExit):
        return
    _crash_log.critical("uncaught exception in thread %s",
                        args.thread.name if args.thread else "?",
                        exc_info=(args.exc_type, args.exc_value, args.exc_traceback))


def log_uncaught() -> None:
    """Uncaught exceptions (main thread and other threads) go through logging, and so
    through the filter, instead of Python printing their traceback to stderr itself."""
    sys.excepthook = _log_uncaught
    threading.excepthook = _log_uncaught_in_thread


def uvicorn_log_config(level: str = "INFO") -> dict[str, Any]:
    """A `log_config` for uvicorn: its loggers (uvicorn, uvicorn.error, uvicorn.access)
    and the root logger write through one stderr handler behind the redaction filter —
    uvicorn's default config gives them handlers of their own, and its tracebacks
    ("Exception in ASGI application") would bypass the filter."""
    handler = {"class": "logging.StreamHandler", "stream": "ext://sys.stderr",
               "formatter": "plain", "filters": ["redact"]}
    quiet = {"handlers": ["redacted"], "level": level.upper(), "propagate": False}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"redact": {"()": RedactionFilter}},
        "formatters": {"plain": {"format": FORMAT}},
        "handlers": {"redacted": handler},
        "loggers": {"uvicorn": quiet, "uvicorn.error": {"level": level.upper()},  # → uvicorn
                    "uvicorn.access": quiet},
        "root": {"handlers": ["redacted"], "level": level.upper()},
    }
