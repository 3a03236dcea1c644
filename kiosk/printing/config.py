"""The ``[printer]`` section of config/kiosk.toml, and opening the printer it describes.

`transport` names the printer device in the registry (kiosk.devices): network, usb and
serial are the product's; "standin" (installed with the stand-ins) runs the stand-in
printer inside the kiosk process (on `host`/`port`, jobs written to `standin_output_dir`)
and prints to it over TCP exactly as to a network printer, so the whole path —
rendering, python-escpos, status commands — is the real one.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from escpos.escpos import Escpos

from kiosk.configfile import REPO_ROOT, read_kiosk_config
from kiosk.devices import registry
from kiosk.domain.section import Section
from kiosk.printing.device import Printer
from kiosk.printing.escpos_printer import EscposPrinter
from kiosk.printing.render import MODELS, PrinterModel, TextMode

log = logging.getLogger(__name__)

KEYS = ("transport", "model", "text_mode", "host", "port", "timeout_seconds",
        "job_timeout_seconds", "usb_vendor_id", "usb_product_id", "serial_device",
        "serial_baudrate", "standin_output_dir")


@dataclass(frozen=True)
class PrinterConfig:
    transport: str = "standin"
    model: PrinterModel = MODELS["generic-80mm"]
    host: str = "127.0.0.1"
    port: int = 9100
    timeout_seconds: float = 2.0
    job_timeout_seconds: float = 10.0
    usb_vendor_id: int = 0x04B8          # Epson
    usb_product_id: int = 0x0202
    serial_device: str = "/dev/ttyUSB0"
    serial_baudrate: int = 9600
    standin_output_dir: Path = REPO_ROOT / "var" / "printer"

    @classmethod
    def from_section(cls, s: Section) -> PrinterConfig:
        s.unknown_keys(KEYS)
        d = cls()
        transport = s.text("transport", d.transport)
        registry().factory("printer", transport, file=s.file, key=s.key("transport"))
        model = MODELS[s.text("model", d.model.name, choices=tuple(MODELS))]
        if s.has("text_mode"):
            mode = TextMode(s.text("text_mode", choices=[m.value for m in TextMode]))
            model = replace(model, text_mode=mode)
        out = Path(s.text("standin_output_dir", str(d.standin_output_dir)))
        return cls(
            transport=transport,
            model=model,
            host=s.text("host", d.host),
            port=s.integer("port", d.port, min=0, max=65535),
            timeout_seconds=s.number("timeout_seconds", d.timeout_seconds, min=0.1),
            job_timeout_seconds=s.number("job_timeout_seconds", d.job_timeout_seconds, min=0.5),
            usb_vendor_id=s.integer("usb_vendor_id", d.usb_vendor_id, min=0, max=0xFFFF),
            usb_product_id=s.integer("usb_product_id", d.usb_product_id, min=0, max=0xFFFF),
            serial_device=s.text("serial_device", d.serial_device),
            serial_baudrate=s.integer("serial_baudrate", d.serial_baudrate, min=1200),
            # relative paths are relative to the config file's folder, as for every section
            standin_output_dir=out if out.is_absolute() else (Path(s.file).parent / out).resolve(),
        )


def load_printer_config(path: str | os.PathLike[str] | None = None) -> PrinterConfig:
    """The [printer] section of kiosk.toml (defaults when the file has none)."""
    return PrinterConfig.from_section(read_kiosk_config(path).section("printer", None))


# A printer device (kiosk.devices, kind "printer"): how to reach the ESC/POS printer, and
# what to stop when the kiosk closes (a stand-in the device started itself).
Connection = tuple[Callable[[], Escpos], Callable[[], None] | None]


def connect_network(config: PrinterConfig) -> Connection:
    """`transport = "network"`: python-escpos over TCP to host:port."""
    from escpos.printer import Network

    return (lambda: Network(config.host, config.port, timeout=config.timeout_seconds,
                            profile=config.model.profile)), None


def connect_usb(config: PrinterConfig) -> Connection:
    from escpos.printer import Usb

    return (lambda: Usb(config.usb_vendor_id, config.usb_product_id,
                        timeout=int(config.timeout_seconds * 1000),
                        profile=config.model.profile)), None


def connect_serial(config: PrinterConfig) -> Connection:
    from escpos.printer import Serial

    return (lambda: Serial(config.serial_device, baudrate=config.serial_baudrate,
                           timeout=config.timeout_seconds, profile=config.model.profile)), None


def open_printer(config: PrinterConfig) -> Printer:
    """The printer `transport` names, from the device registry (kiosk.devices)."""
    connect, on_close = registry().factory("printer", config.transport)(config)
    return EscposPrinter(connect, config.model, status_timeout=config.timeout_seconds,
                         job_timeout=config.job_timeout_seconds, name=config.transport,
                         on_close=on_close)
