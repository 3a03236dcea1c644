"""The provisioning file names the kiosk's own payment terminal (where it answers, its id)
and never its key; applying it gives the kiosk a [payment] pointing at that terminal, and
nothing of the back-office's payment provider."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk import provision
from kiosk.domain.errors import ConfigError
from kiosk.payment.config import load_payment_settings

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "config" / "provision.example.toml"


def test_terminal_of_the_kiosk_reaches_its_payment_config(tmp_path: Path) -> None:
    p = provision.load(EXAMPLE)
    assert p.payment_terminal == provision.PaymentTerminal("T-kita-01", "192.0.2.20", 4100)
    assert p.summary()["payment_terminal"]["terminal_id"] == "T-kita-01"
    config = tmp_path / "config"
    config.mkdir()
    for former in ("payment.toml", "backoffice.toml"):   # as an earlier version left them
        (config / former).write_text("[backoffice]\napi_key_env = \"X\"\n")
    provision.apply(EXAMPLE, tmp_path / "state", config)
    mine = load_payment_settings(config / "kiosk.toml")
    terminal = mine.terminal
    assert (terminal.host, terminal.port, terminal.sale_id) == ("192.0.2.20", 4100, "kita-01")
    shipped = load_payment_settings(REPO / "config" / "kiosk.toml")
    assert (mine.methods, mine.poll_seconds) == (shipped.methods, shipped.poll_seconds)
    assert sorted(p.name for p in config.glob("*.toml")) == ["catalog.toml", "kiosk.toml",
                                                             "life_events.toml"]


def test_a_terminal_key_in_the_file_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "provision.toml"
    bad.write_text(EXAMPLE.read_text().replace('port = 4100\n', 'port = 4100\nkey = "00"\n'))
    with pytest.raises(ConfigError, match="key does not go to the kiosk"):
        provision.load(bad)
