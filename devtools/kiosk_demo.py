"""`python -m devtools --demo`: the kiosk with its stand-in card and printer against a real
back-office started by the demo orchestrator (devtools.demo) — tickets are issued through
the sync package exactly as on a real kiosk.

    python -m devtools --demo                               a window (needs a display)
    python -m devtools --demo --headless --walkthrough DIR  the scripted visits, offscreen
    python -m devtools.kiosk_demo --screens DIR                   the same in every mode
                                                            (scripts/kiosk_screens)

Cashless payment is on: the demo runs the payment provider and terminal stand-ins and the
back-office is told about them (devtools.demo.start_payment); the provider pays each code by
itself after a few seconds. `start_kiosk(demo)` runs the same as a child process of
`scripts/demo`.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kiosk.configfile import REPO_ROOT
from kiosk.ui.ports import KioskDevices
from kiosk.ui.settings import UiConfig

VPCD_DRIVER = "/usr/lib/pcsc/drivers/serial/libifdvpcd.so"


log = logging.getLogger(__name__)

PRINTER_MODEL = "generic-80mm"


def pcsc_rig_available() -> str | None:
    """Why the demo cannot run pcscd + vpcd here (None: it can)."""
    if not (shutil.which("pcscd") or Path("/usr/sbin/pcscd").exists()):
        return "pcscd is not installed"
    if not Path(VPCD_DRIVER).exists():
        return f"vsmartcard-vpcd is not installed ({VPCD_DRIVER})"
    try:
        import smartcard  # noqa: F401 — pyscard, the kiosk's PC/SC binding
    except ImportError:
        return "pyscard is not installed"
    return None


class CardRig:
    """The stand-in My Number card (PIN 1234) behind a private pcscd + vpcd
    (hardware.card.rig, as `python -m hardware.card rig`), read by the kiosk's own card
    stack: `[card] backend = "pcsc"` pointed at the rig's reader, test CA trusted.
    `place()` / `remove()` put the card on and off the reader (the walkthrough uses them)."""

    def __init__(self, directory: Path) -> None:
        from hardware.card.rig import CardSlot, start_pcscd
        directory.mkdir(parents=True, exist_ok=True)
        directory.chmod(0o755)
        self.pcscd = start_pcscd(directory)  # also points this process's PC/SC at it
        self.slot = CardSlot(self.pcscd, directory)
        self.config_file = directory / "card.toml"
        ca = REPO_ROOT / "config" / "cards" / "test-ca.pem"
        self.config_file.write_text(
            f'[card]\nbackend = "pcsc"\nreader = {json.dumps(self.pcscd.reader)}\n'
            f"trusted_ca = [{json.dumps(str(ca))}]\n", encoding="utf-8")

    def reader(self) -> Any:
        from kiosk.card import open_reader
        from kiosk.card.config import CardConfig
        from kiosk.ui.adapters import CardReaderAdapter
        return CardReaderAdapter(open_reader(CardConfig.load(self.config_file)))

    def place(self, _card: object = None) -> None:
        self.slot.insert("yamada")

    def remove(self) -> None:
        self.slot.remove()

    def close(self) -> None:
        try:
            self.slot.remove()
            apdus = sum(len(p.read_text(encoding="utf-8").splitlines())
                        for p in self.slot.directory.glob("apdu-*.log"))
            print(f"kiosk demo: the stand-in card answered {apdus} APDUs through pcscd",
                  flush=True)
        finally:
            self.pcscd.stop()
            shutil.rmtree(self.slot.directory, ignore_errors=True)


def demo_printer(directory: Path) -> tuple[Any, Any]:
    """The ESC/POS stand-in printer (hardware.printer) on a free TCP port, and the kiosk's
    printer port talking to it through python-escpos. Every ticket lands in `directory`
    as job-NNNN.png."""
    from escpos.printer import Network

    from hardware.printer import StandInPrinter as EscposStandIn
    from kiosk.printing.escpos_printer import EscposPrinter
    from kiosk.printing.kiosk_port import KioskTicketPrinter
    from kiosk.printing.render import MODELS

    standin = EscposStandIn("127.0.0.1", 0, output_dir=directory).start()
    model = MODELS[PRINTER_MODEL]
    printer = EscposPrinter(
        lambda: Network(standin.host, standin.port, timeout=2.0, profile=model.profile),
        model, status_timeout=2.0, job_timeout=5.0, name="stand-in")
    return standin, KioskTicketPrinter(printer)


def with_cashless(cfg: UiConfig) -> UiConfig:
    """The kiosk settings with cashless payment offered (the demo runs its stand-ins)."""
    return dataclasses.replace(cfg, session=dataclasses.replace(cfg.session, cashless=True))


DEMO_PIN_HASH = "KIOSK_DEMO_MAINTAINER_PIN_HASH"   # from start_kiosk to its child
DEMO_PAYMENT = "KIOSK_DEMO_PAYMENT"     # ... the demo's kiosk.toml, for its [payment]
DEMO_PROVIDER = "KIOSK_DEMO_PROVIDER"   # ... the provider stand-in's URL (it pays codes)


def new_demo_pin() -> tuple[str, str]:
    """A random maintainer PIN for one demo run, and its hash (no PIN is shipped; a real
    kiosk gets its own from provisioning)."""
    import secrets

    from kiosk.ui.maintainer_gate import hash_pin
    pin = f"{secrets.randbelow(10 ** 6):06d}"
    return pin, hash_pin(pin)


def with_demo_maintainer(cfg: UiConfig, folder: Path, pin_hash: str = "") -> UiConfig:
    """The demo kiosk with the demo's maintainer PIN: `pin_hash` when the orchestrator
    made one (it shows the PIN), else a new one, printed."""
    if not pin_hash:
        pin, pin_hash = new_demo_pin()
        print(f"kiosk demo: maintainer PIN for this run: {pin} (five taps on the top-left "
              "corner close the kiosk)", flush=True)
    folder.mkdir(parents=True, exist_ok=True)
    return dataclasses.replace(cfg, maintainer_pin_hash=pin_hash,
                               maintainer_lock_file=folder / "maintainer-lock.json")


def provider_scans(cashless: Any, provider_url: str) -> Callable[[int], None]:
    """The resident's phone paying a code now: the provider stand-in "scans" the code of
    a back-office payment (the walkthrough shoots the code first, then pays)."""
    import requests

    def scan(payment_id: int) -> None:
        provider_id = cashless.client.get(payment_id)["provider_id"]
        answer = requests.post(f"{provider_url}/_control/payments/{provider_id}/scan",
                               timeout=5)
        if not answer.ok:  # e.g. it paid by itself already (--auto-scan-after)
            log.info("provider scan of %s: %s %s", provider_id, answer.status_code,
                     answer.text[:200])
    return scan


@dataclass(frozen=True)
class DemoKiosk:
    """The demo's devices, plus what the scripted visits need to play the resident."""

    devices: KioskDevices
    hands: Any = None                          # puts the card on / off (the pcscd rig)
    pay: Callable[[int], None] | None = None   # the resident's phone paying a code


def demo_devices(backoffice_url: str, token: str, var_dir: Path,
                 payment_config: Path | None = None, provider_url: str = "") -> DemoKiosk:
    """The stand-in card through pcscd + vpcd (in-process stand-in when those are
    missing), the ESC/POS stand-in printer over TCP, the real sync link, and with a
    `payment_config` (a kiosk.toml: its [payment]) the payment widget against the
    back-office's payment API, paying codes at the provider stand-in `provider_url`."""
    from devtools.standins import StandInReader
    from kiosk.sync import KioskLink
    from kiosk.sync.sealing import generate_key
    from kiosk.sync.settings import BackofficeSettings, StoreSettings, SyncSettings
    from kiosk.ui.adapters import LinkDesk

    var_dir.mkdir(parents=True, exist_ok=True)
    token_file = var_dir / "kiosk-device-token"
    token_file.write_text(token + "\n", encoding="utf-8")
    token_file.chmod(0o600)
    key = var_dir / "kiosk-outbox.key"
    if not key.exists():
        generate_key(key)
    settings = SyncSettings(
        backoffice=BackofficeSettings(url=backoffice_url, ward="kita",
                                      device_token_file=token_file, ca_bundle=None,
                                      insecure_http=True),   # the demo's loopback http
        store=StoreSettings(path=var_dir / "kiosk.db", key_file=key))
    closers: list[Any] = []
    link = KioskLink(settings)
    link.start()
    closers.append(link.stop)

    why_not = pcsc_rig_available()
    rig = None
    reader: Any
    hands: Any
    if why_not is None:
        from hardware.card.rig import PcscdBusy
        try:
            rig = CardRig(Path(tempfile.mkdtemp(prefix="ward-card-rig-")))
        except PcscdBusy:
            close_all(closers)
            raise  # the reader is someone else's: say so (main) rather than fake a card
        except (OSError, RuntimeError, TimeoutError) as exc:
            why_not = f"the private pcscd did not start ({exc})"
    if rig is not None:
        closers.append(rig.close)
        rig.place()
        reader, hands = rig.reader(), rig
        print(f"kiosk demo: card = the stand-in My Number card through pcscd + vpcd "
              f"(reader {rig.pcscd.reader!r}, PIN 1234; APDU log in {rig.slot.directory} "
              "while it runs)", flush=True)
    else:
        reader = hands = StandInReader()
        reader.place()
        print(f"kiosk demo: card = the in-process stand-in reader (PIN 1234), because "
              f"{why_not}", flush=True)
        log.warning("demo card: in-process stand-in (%s)", why_not)

    printed = var_dir / "printer"
    standin, printer = demo_printer(printed)
    closers += [printer.close, standin.stop]
    print(f"kiosk demo: printer = the ESC/POS stand-in on {standin.host}:{standin.port}; "
          f"printed tickets (PNG) land in {printed}", flush=True)

    cashless = pay_code = None
    if payment_config is not None:
        from kiosk.payment.config import load_payment_settings
        from kiosk.payment.widget import KioskCashless
        pay = load_payment_settings(payment_config)
        cashless = KioskCashless.from_link(link, pay)
        pay_code = provider_scans(cashless, provider_url)
        print(f"kiosk demo: cashless = the provider stand-in at {provider_url}"
              f" and the terminal stand-in on port {pay.terminal.port}", flush=True)
    devices = KioskDevices(reader=reader, printer=printer, desk=LinkDesk(link),
                           catalog=link.catalog(), payment=cashless,
                           report_maintainer=link.report_maintainer,
                           close=lambda: close_all(closers))
    return DemoKiosk(devices, hands, pay_code)


def close_all(closers: list[Callable[[], Any]]) -> None:
    """Close the demo's devices, last opened first, once (the app's exit and the demo's
    own clean-up both call it)."""
    todo = list(reversed(closers))
    closers.clear()
    for closer in todo:
        try:
            closer()
        except Exception:  # shutting down: log and go on with the rest
            log.warning("closing a demo device failed", exc_info=True)


def busy_reader(exc: Exception) -> int:
    """Say who holds the shared card reader (the demo shows this line); the exit code."""
    print(f"kiosk demo: the card reader is busy: {exc}", file=sys.stderr, flush=True)
    return 3


def kiosk_token(credentials: dict[str, Any]) -> str:
    return str(next(d["token"] for d in credentials["devices"]
                    if d["kind"] == "kiosk" and d.get("ward", "kita") == "kita"))


def run_demo(cfg: UiConfig, *, walkthrough: Path | None = None,
             var_dir: Path | None = None, all_modes: bool = False) -> int:
    """Start the demo back-office and payment stand-ins, then the kiosk against them
    (window or walkthrough; `all_modes`: the walkthrough in every display mode)."""
    from devtools.demo import VAR_DIR, running, stand_in_pin, stop_on_signals
    from hardware.card.rig import PcscdBusy
    from kiosk.ui.app import build_app

    stop_on_signals()
    try:
        with running(var_dir or VAR_DIR, payment=True, owns_tree=True) as demo:
            kiosk = demo_devices(demo.backoffice_url, kiosk_token(demo.credentials),
                                 demo.var_dir / "kiosk", demo.payment_config,
                                 demo.provider_url)
            cfg = with_demo_maintainer(with_cashless(cfg), demo.var_dir / "kiosk")
            try:
                if walkthrough is not None:
                    from devtools.walkthrough import run_walkthrough
                    return run_walkthrough(walkthrough, cfg, devices=kiosk.devices,
                                           hands=kiosk.hands, pay=kiosk.pay,
                                           all_modes=all_modes)
                print(f"kiosk demo: back-office at {demo.backoffice_url}; the stand-in card "
                      f"is on the reader (PIN {stand_in_pin()})", flush=True)
                build_app(cfg, kiosk.devices).run()
                return 0
            finally:
                kiosk.devices.close()
    except PcscdBusy as exc:
        return busy_reader(exc)
    except KeyboardInterrupt:
        return 0


def start_kiosk(demo: Any, *, headless_dir: Path | None = None) -> subprocess.Popen[bytes]:
    """The kiosk as a child of the demo orchestrator, attached to its back-office: a
    window when there is a display, else the headless walkthrough into `headless_dir`."""
    args = [sys.executable, "-m", "devtools.kiosk_demo", demo.backoffice_url,
            kiosk_token(demo.credentials), str(demo.var_dir / "kiosk")]
    headless = headless_dir is not None or not os.environ.get("DISPLAY")
    if headless:
        screens = headless_dir or demo.var_dir / "kiosk-screens"
        args.append(str(screens))
        demo.urls["kiosk (headless visits, PNGs)"] = str(screens)
    demo.urls["kiosk printed tickets (PNGs)"] = str(demo.var_dir / "kiosk" / "printer")
    pin, pin_hash = new_demo_pin()
    demo.urls["kiosk maintainer PIN (this run)"] = pin
    demo.kiosk_window = not headless
    # the window runs as long as the demo; the walkthrough ends by itself
    return demo.start(args, demo.var_dir / "kiosk.log", finite=headless,
                      env={**os.environ, **kiosk_payment_env(demo), "KIVY_NO_ARGS": "1",
                           "PYTHONPATH": str(REPO_ROOT), DEMO_PIN_HASH: pin_hash})


def kiosk_payment_env(demo: Any) -> dict[str, str]:
    """What the kiosk child needs of the payment stand-ins (no secret of the back-office)."""
    if demo.payment_config is None:
        return {}
    return {DEMO_PAYMENT: str(demo.payment_config), DEMO_PROVIDER: demo.provider_url}


def make_screens(out: Path) -> int:
    """docs/screens/kiosk: the walkthrough in every mode against a demo back-office in a
    temporary directory, with the payment stand-ins (scripts/kiosk_screens)."""
    from kiosk.ui.app import configure_kivy
    cfg = UiConfig.load()
    configure_kivy(cfg, headless=True, window=True)
    with tempfile.TemporaryDirectory(prefix="kiosk-screens-") as var_dir:
        return run_demo(cfg, walkthrough=out, var_dir=Path(var_dir), all_modes=True)


def main(argv: list[str]) -> int:
    """`python -m devtools.kiosk_demo URL TOKEN VAR_DIR [SCREENS_DIR]` (used by start_kiosk;
    cashless when $KIOSK_DEMO_PAYMENT names the demo's kiosk.toml with its [payment]), or
    `python -m devtools.kiosk_demo --screens DIR`."""
    from devtools.demo import stop_on_signals
    from hardware.card.rig import PcscdBusy
    from kiosk.logsetup import configure
    from kiosk.ui.app import build_app, configure_kivy
    configure("INFO")
    if argv[:1] == ["--screens"] and len(argv) == 2:
        return make_screens(Path(argv[1]))
    stop_on_signals()  # the demo stops this child with SIGTERM: close the devices first
    url, token, var_dir = argv[0], argv[1], Path(argv[2])
    cfg = UiConfig.load()
    headless = len(argv) > 3
    configure_kivy(cfg, headless=headless, window=True)
    payment = os.environ.get(DEMO_PAYMENT)
    if payment:
        cfg = with_cashless(cfg)
    cfg = with_demo_maintainer(cfg, var_dir, os.environ.get(DEMO_PIN_HASH, ""))
    try:
        kiosk = demo_devices(url, token, var_dir, Path(payment) if payment else None,
                             os.environ.get(DEMO_PROVIDER, ""))
    except PcscdBusy as exc:
        return busy_reader(exc)
    try:
        if headless:
            from devtools.walkthrough import run_walkthrough
            return run_walkthrough(Path(argv[3]), cfg, devices=kiosk.devices,
                                   hands=kiosk.hands, pay=kiosk.pay)
        build_app(cfg, kiosk.devices).run()
        return 0
    except KeyboardInterrupt:
        return 0
    finally:
        kiosk.devices.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
