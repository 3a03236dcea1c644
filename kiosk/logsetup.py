"""Logging for every process of the product, with personal data redacted.

The filter is the last line of defence, not the first: code must not log personal data
in the first place. It masks what slips through anyway — a 12-digit 個人番号, a 4-digit
PIN next to the word pin, a VERIFY APDU's data, and any value passed in ``extra`` under
a personal key — before a record reaches any handler.
"""

from __future__ import annotations

import logging
import re
import sys
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


def redact(text: str) -> str:
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
            # Tracebacks can quote locals in messages; format now, redact, drop the raw.
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


def install_redaction(logger: logging.Logger | None = None) -> None:
    """Attach the filter to every handler of `logger` (root by default).

    Handler-level, because logger-level filters do not see records propagated from
    child loggers.
    """
    target = logger or logging.getLogger()
    for handler in target.handlers:
        if not any(isinstance(f, RedactionFilter) for f in handler.filters):
            handler.addFilter(RedactionFilter())


def configure(level: str | int = "INFO", *, stream: Any = None) -> None:
    """Set up root logging once for a process (CLI, server, kiosk app)."""
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler(stream or sys.stderr)
        handler.setFormatter(logging.Formatter(
            "%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
    root.setLevel(level)
    install_redaction(root)
