"""The redaction filter masks personal data that slips into a log record."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from kiosk.logsetup import RedactionFilter, redact


@contextmanager
def _filtered(name: str, fmt: str = "%(message)s") -> Iterator[io.StringIO]:
    """A logger whose one handler has the redaction filter; what it wrote."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactionFilter())
    handler.setFormatter(logging.Formatter(fmt))
    logger = logging.getLogger(name)
    logger.propagate = False
    logger.addHandler(handler)
    try:
        yield stream
    finally:
        logger.removeHandler(handler)


def _log_through_filter(msg: str, *args: object, **extra: object) -> str:
    with _filtered("test.redaction", "%(message)s %(name_field)s") as stream:
        logging.getLogger("test.redaction").warning(
            msg, *args, extra={"name_field": "-", **extra})
    return stream.getvalue()


def test_twelve_digit_number_masked() -> None:
    assert "123456789012" not in redact("number 123456789012 read")
    assert "１２３４５６７８９０１２" not in redact("番号１２３４５６７８９０１２")
    assert "1234 5678 9012" not in redact("番号 1234 5678 9012")


def test_longer_digit_runs_are_not_numbers() -> None:
    # A 13-digit ID or a 14-digit timestamp is not a 個人番号: leave it readable.
    assert redact("order 1234567890123") == "order 1234567890123"
    assert redact("at 20261122101010") == "at 20261122101010"


def test_pin_masked() -> None:
    out = redact("verify pin=4321 and PIN: 9876")
    assert "4321" not in out and "9876" not in out


def test_verify_apdu_masked() -> None:
    out = redact("> 00 20 00 80 04 31 32 33 34")
    assert "31 32 33 34" not in out
    assert "00 20 00 80 04" in out


def test_filter_masks_args_and_extra() -> None:
    out = _log_through_filter("read %s for %s", "123456789012", "someone", pin="1234")
    assert "123456789012" not in out


def test_filter_masks_exception_text() -> None:
    with _filtered("test.redaction.exc") as stream:
        try:
            raise ValueError("bad number 123456789012")
        except ValueError:
            logging.getLogger("test.redaction.exc").exception("failed")
    assert "123456789012" not in stream.getvalue()
    assert "ValueError" in stream.getvalue()


def test_logger_name_is_kept_and_personal_extra_masked() -> None:
    with _filtered("kiosk.sync.outbox", "%(name)s|%(message)s|%(address)s") as stream:
        logging.getLogger("kiosk.sync.outbox").warning(
            "sent", extra={"address": "大阪府堺市北区"})
    assert stream.getvalue().strip() == "kiosk.sync.outbox|sent|[REDACTED]"


def test_device_and_config_errors_keep_their_message_others_withhold_it() -> None:
    """A maintainer reads why the card, the printer or the configuration failed; any other
    exception's message (which may quote a resident's value) is withheld."""
    from kiosk.card.errors import CardCommunicationError, CardDataError
    from kiosk.domain.errors import ConfigError
    from kiosk.printing.device import PaperOutError

    safe = [CardCommunicationError("SW 6982 on SELECT EF 0002"), PaperOutError("status 0x0c"),
            ConfigError("config/kiosk.toml", "printer.port", "must be 1-65535")]
    unsafe = [CardDataError("name field 山田太郎"), ValueError("山田太郎 大阪府堺市")]
    with _filtered("test.redaction.safe") as stream:
        for exc in [*safe, *unsafe]:
            try:
                raise exc
            except Exception:
                logging.getLogger("test.redaction.safe").exception("failed")
    out = stream.getvalue()
    for exc in safe:
        assert str(exc) in out
    assert "山田" not in out and "大阪" not in out
    assert out.count("[message withheld") == len(unsafe)
