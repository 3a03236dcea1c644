"""[ui] of config/kiosk.toml and the command line (no window needed)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from kiosk.domain.errors import ConfigError
from kiosk.ui.settings import UiConfig
from kiosk.ui.theme import DEFAULT, HIGH_CONTRAST, contrast, hex_rgb


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "kiosk.toml"
    path.write_text("[ui]\n" + body, encoding="utf-8")
    return path


def test_shipped_config_loads() -> None:
    cfg = UiConfig.load()
    assert cfg.ward == "kita" and cfg.fullscreen and not cfg.show_cursor
    assert cfg.target_px == pytest.approx(15 / 25.4 * cfg.dpi)
    assert cfg.maintainer_pin_hash == ""          # provisioned per kiosk, never shipped


@pytest.mark.parametrize(("body", "key"), [
    ('rotation = 45\n', "ui.rotation"),
    ('multisamples = 3\n', "ui.multisamples"),
    ('languages = ["ja", "xx"]\n', "ui.languages"),
    ('language = "en"\nlanguages = ["ja"]\n', "ui.language"),
    ('idle_timeout_s = 3\n', "ui.idle_timeout_s"),
    ('card = "usb"\n', "ui.card"),
    ('colour = "red"\n', "ui.colour"),
])
def test_bad_values_name_the_file_and_key(tmp_path: Path, body: str, key: str) -> None:
    path = write(tmp_path, body)
    with pytest.raises(ConfigError) as err:
        UiConfig.load(path)
    assert err.value.key == key and str(path) in str(err.value)


def test_command_line_refuses_bad_use(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from kiosk.ui.app import main
    with pytest.raises(SystemExit):
        main(["--headless"])
    assert "unrecognized arguments: --headless" in capsys.readouterr().err
    # A refused config is an ERROR record through the logging set-up (the journal's err
    # priority in the image): its handler holds the stream it was given, so catch it there.
    seen: list[logging.LogRecord] = []

    class Catcher(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)

    catcher = Catcher(logging.ERROR)
    logging.getLogger("kiosk.ui.app").addHandler(catcher)
    try:
        assert main(["--config", str(write(tmp_path, "rotation = 1\n"))]) == 2
    finally:
        logging.getLogger("kiosk.ui.app").removeHandler(catcher)
    assert any("rotation" in r.getMessage() and r.levelno == logging.ERROR for r in seen)


def test_palettes_meet_their_contrast() -> None:
    for palette, minimum in ((DEFAULT, 4.5), (HIGH_CONTRAST, 7.0)):
        for fg, bg in palette.pairs():
            ratio = contrast(hex_rgb(getattr(palette, fg)), hex_rgb(getattr(palette, bg)))
            assert ratio >= minimum, (fg, bg, ratio)


def test_cashless_wiring_builds_the_payment_package_port(tmp_path: Path) -> None:
    from kiosk.configfile import CONFIG_DIR
    from kiosk.payment.widget import KioskCashless
    from kiosk.ui.adapters import cashless_payment

    token = tmp_path / "device-token"
    token.write_text("dv_test\n", encoding="utf-8")
    text = (CONFIG_DIR / "kiosk.toml").read_text(encoding="utf-8")
    text = text.replace('device_token_file = "/etc/ward-kiosk/device-token"',
                        f'device_token_file = "{token}"')
    text = text.replace("cashless = false", "cashless = true")
    path = tmp_path / "kiosk.toml"
    path.write_text(text, encoding="utf-8")
    cfg = UiConfig.load(path)
    assert cfg.session.cashless
    assert isinstance(cashless_payment(cfg), KioskCashless)
