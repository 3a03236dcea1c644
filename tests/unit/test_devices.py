"""Devices chosen by name (kiosk.devices): the stand-ins exist only where they are installed."""

from __future__ import annotations

from importlib.metadata import EntryPoint

import pytest

from kiosk.card.config import CardConfig
from kiosk.devices import GROUP, DeviceRegistry, registry
from kiosk.domain.errors import ConfigError
from kiosk.domain.section import Section
from kiosk.printing.config import PrinterConfig

STANDINS = [
    EntryPoint("card.standin", "hardware.card.local:open_standin_reader", GROUP),
    EntryPoint("printer.standin", "hardware.printer.server:connect_standin", GROUP),
]


def test_this_dev_install_registers_the_standins():
    # standins/setup.cfg's entry points, as scripts/bootstrap installs them (the extra)
    assert "standin" in registry().names("card")
    assert "standin" in registry().names("printer")


def test_a_production_install_refuses_the_standins():
    production = DeviceRegistry(installed=[])   # no stand-in entry points installed
    assert production.names("card") == ("pcsc",)
    assert production.names("printer") == ("network", "serial", "usb")
    assert production.names("payment_terminal") == ("nexo",)
    with pytest.raises(ConfigError) as err:
        production.factory("card", "standin", file="kiosk.toml", key="card.backend")
    assert err.value.key == "card.backend" and "not installed" in err.value.problem
    with pytest.raises(ConfigError):
        production.factory("printer", "standin")


def test_the_standins_start_only_through_their_entry_points(tmp_path):
    dev = DeviceRegistry(installed=STANDINS)
    reader = dev.factory("card", "standin")(CardConfig(backend="standin"))
    session = reader.poll()
    assert session is not None
    session.verify("1234")
    assert session.read_holder().given_name == "太郎"
    session.close()
    config = PrinterConfig(transport="standin", port=0, standin_output_dir=tmp_path)
    _connect, stop = dev.factory("printer", "standin")(config)
    assert stop is not None
    stop()


def test_config_names_the_switch_of_a_device_this_install_lacks(monkeypatch, tmp_path):
    monkeypatch.setattr("kiosk.devices._registry", DeviceRegistry(installed=[]))
    with pytest.raises(ConfigError) as err:
        CardConfig.from_section(Section({"backend": "standin"}, "kiosk.toml", "card"), tmp_path)
    assert err.value.key == "card.backend"
    with pytest.raises(ConfigError) as err:
        PrinterConfig.from_section(Section({"transport": "standin"}, "kiosk.toml", "printer"))
    assert err.value.key == "printer.transport"


def test_the_payment_terminal_is_chosen_by_name_too():
    from kiosk.payment.config import TerminalSettings
    from kiosk.payment.terminal import NexoTcpTerminal, open_terminal

    assert isinstance(open_terminal(TerminalSettings(kind="nexo")), NexoTcpTerminal)
    assert open_terminal(TerminalSettings(kind="none")) is None
