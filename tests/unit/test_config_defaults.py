"""One set of defaults: a section left empty parses to its settings dataclass's own
defaults (the parsers read them from the dataclass instead of repeating them)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from kiosk.backoffice.config import Settings
from kiosk.card.config import CardConfig
from kiosk.domain.errors import ConfigError
from kiosk.domain.section import Defaults, Section
from kiosk.payment.config import KioskPaymentSettings
from kiosk.printing.config import PrinterConfig
from kiosk.sync.settings import BackofficeSettings, StoreSettings, parse_backoffice, parse_store
from kiosk.ui.settings import UiConfig


def test_an_empty_back_office_file_is_the_dataclass_defaults() -> None:
    assert Settings.from_mapping({}, "backoffice.toml") == Settings(source="backoffice.toml")


def test_empty_kiosk_sections_are_the_dataclass_defaults(tmp_path: Path) -> None:
    def empty(name: str) -> Section:
        return Section({}, "kiosk.toml", name)

    assert KioskPaymentSettings.from_section(empty("payment")) == KioskPaymentSettings()
    assert CardConfig.from_section(empty("card"), tmp_path) == CardConfig()
    printer = PrinterConfig.from_section(empty("printer"))
    assert printer == PrinterConfig(standin_output_dir=printer.standin_output_dir)
    link = parse_backoffice(Section({"url": "https://bo.example", "ward": "kita",
                                     "device_token_file": "t"}, "kiosk.toml", "backoffice"),
                            tmp_path)
    assert link == BackofficeSettings(url="https://bo.example", ward="kita",
                                      device_token_file=tmp_path / "t", ca_bundle=None)
    store = parse_store(Section({"path": "s.db", "key_file": "k"}, "kiosk.toml", "store"),
                        tmp_path)
    assert store == StoreSettings(path=tmp_path / "s.db", key_file=tmp_path / "k")
    config = tmp_path / "kiosk.toml"
    config.write_text("[ui]\n", encoding="utf-8")
    ui = UiConfig.load(config)
    # the ward's street list is its own file (config/streets.toml), not a [ui] default
    assert ui.session.streets
    plain = replace(ui, session=replace(ui.session, streets=()))
    assert plain == UiConfig(file=str(config))


def test_defaults_read_a_dataclass_with_required_fields() -> None:
    d = Defaults(StoreSettings)
    assert (d.block_size, d.synchronous) == (50, "NORMAL")
    assert Defaults(KioskPaymentSettings).terminal.kind == "nexo"   # a default_factory


def test_an_optional_string_spelled_out_empty_is_its_empty_default() -> None:
    """A shipped file may write `public_url = ""`: that is the default, not an error; a
    required string or one whose default is not empty still refuses an empty value."""
    section = Section({"public_url": "", "name": ""}, "backoffice.toml", "server")
    assert section.text("public_url", "") == ""
    with pytest.raises(ConfigError, match=r"server\.name"):
        section.text("name")
    with pytest.raises(ConfigError, match="non-empty"):
        section.text("name", "kita")
