"""[card] config: the reader it selects, and errors that name file and key."""

from __future__ import annotations

import pytest

from hardware.card.local import LocalCardReader
from kiosk.card import CardConfig, LastPinTry, NoCard, open_reader
from kiosk.card.pcsc import PcscCardReader
from kiosk.domain.application import Authenticity
from kiosk.domain.errors import ConfigError

from .conftest import REPO


def _write(tmp_path, body):
    path = tmp_path / "kiosk.toml"
    path.write_text("[card]\n" + body, encoding="utf-8")
    return path


def test_repository_config_loads():
    config = CardConfig.load(REPO / "config" / "kiosk.toml")
    assert config.backend == "pcsc" and isinstance(open_reader(config), PcscCardReader)


def test_standin_backend_in_process(tmp_path):
    ca = REPO / "config" / "cards" / "test-ca.pem"
    path = _write(tmp_path, f'backend = "standin"\ntrusted_ca = [{{ file = "{ca}" }}]\n')
    reader = open_reader(CardConfig.load(path))
    assert isinstance(reader, LocalCardReader)
    with reader.wait_for_card(1) as session:
        session.verify("1234")
        assert session.read_holder().given_name == "太郎"
        assert session.check_authenticity().status is Authenticity.GENUINE
    reader.remove()
    assert reader.poll() is None
    with pytest.raises(NoCard):
        reader.wait_for_card(0.1)
    reader.insert(REPO / "hardware" / "card" / "profiles" / "suzuki.toml")
    reader.applet.tries["pin"] = 1
    with reader.wait_for_card(1) as session, pytest.raises(LastPinTry):
        session.verify("5678")


@pytest.mark.parametrize(("body", "key"), [
    ('backend = "nfc"\n', "card.backend"),
    ('readr = "x"\n', "card.readr"),
    ("reader = 3\n", "card.reader"),
    ('trusted_ca = ["missing.pem"]\n', "card.trusted_ca[0]"),
    ('trusted_ca = "x.pem"\n', "card.trusted_ca"),
    ('backend = "emulator"\n', "card.backend"),
    ("wait_timeout = 0\n", "card.wait_timeout"),
])
def test_config_errors_name_the_key(tmp_path, body, key):
    with pytest.raises(ConfigError) as err:
        CardConfig.load(_write(tmp_path, body))
    assert err.value.key == key and "kiosk.toml" in err.value.file
