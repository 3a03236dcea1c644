"""Kiosk provisioning: the per-device file a maintainer writes on the config partition.

    python -m kiosk provision --check FILE            validate on a workstation
    python -m kiosk provision --apply FILE --state DIR [--config-dir DIR] [--owner USER]
                              [--runtime-root /run] [--set-hostname]
                                                      apply on the kiosk (first boot)

The file names the ward and the kiosk, the back-office URL, the device token, the CA
certificate, printer and card-reader settings and the screen's first language (see
config/provision.example.toml). `--apply` validates it, keeps the secrets on the data
partition (token and key readable by the kiosk user only) and writes the kiosk.toml the
app reads (`KIOSK_CONFIG_DIR`). A bad file changes nothing: the last good provisioning
stays in force and the error is kept in `<state>/last-error.txt` for the health report.

Over 400 lines on purpose: the provisioning file's schema, its error messages and what
applying it writes are one file format, kept together.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import logging
import os
import re
import shutil
import socket
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from kiosk.configfile import CONFIG_DIR, load_catalog, read_toml
from kiosk.domain.errors import ConfigError
from kiosk.domain.section import Section
from kiosk.i18n import LANGUAGE_CODES

log = logging.getLogger(__name__)

KIOSK_ID = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$")
# Back-office device tokens: "dv_" + URL-safe base64 of 256 random bits (docs/api.md).
DEVICE_TOKEN = re.compile(r"^dv_[A-Za-z0-9_-]{32,128}$")
USB_ID = re.compile(r"^[0-9a-fA-F]{4}$")
PRINTER_KINDS = ("usb", "network", "serial", "standin")
READER_KINDS = ("pcsc", "standin")
PAPER_WIDTHS = (58, 80)
# The maintainer PIN's argon2id hash (`python -m kiosk --hash-pin`), at least OWASP's
# minimum cost (19 MiB, 2 passes).
PIN_HASH = re.compile(r"^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$[A-Za-z0-9+/]{16,}"
                      r"\$[A-Za-z0-9+/]{32,}$")


@dataclass(frozen=True)
class Printer:
    kind: str
    usb_vendor_id: str = ""
    usb_product_id: str = ""
    host: str = ""
    port: int = 9100
    device: str = ""
    baudrate: int = 38400
    paper_width_mm: int = 80


@dataclass(frozen=True)
class CardReader:
    kind: str
    reader: str = ""  # a substring of the PC/SC reader name; "" = the first reader
    # J-LIS CA public keys for the offline card check: (PEM, key id as 32 hex digits)
    trusted_ca: tuple[tuple[str, str], ...] = ()
    unverifiable: str = "accept_and_flag"   # a card no listed key verifies: or "refuse"


@dataclass(frozen=True)
class PaymentTerminal:
    """The kiosk's own payment terminal: where it answers, and the id (nexo POIID) it was
    registered under at the back-office. Its key is not here: it lives in the terminal
    and the back-office only, so the kiosk cannot vouch for a payment itself."""

    terminal_id: str
    host: str
    port: int = 4100


@dataclass(frozen=True)
class Fleet:
    """[fleet]: network updates of the image (docs/operations.md §8). Absent: none."""

    updater: str = "none"          # "rauc": the image's A/B slots; "none": no updates
    check_seconds: float = 300.0   # how often the kiosk asks for its target release
    reboot_window: str = ""        # "HH:MM-HH:MM" local time; "": whenever idle


def _fleet(s: Section) -> Fleet:
    s.unknown_keys(("updater", "check_seconds", "reboot_window"))
    d = Fleet()
    window = s.text("reboot_window", d.reboot_window)
    if window and not re.match(r"^([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-3]):[0-5][0-9]$",
                               window):
        raise s.error("reboot_window", f"{window!r} is not HH:MM-HH:MM")
    return Fleet(updater=s.text("updater", d.updater, choices=("rauc", "none")),
                 check_seconds=s.number("check_seconds", d.check_seconds, min=1.0),
                 reboot_window=window)


@dataclass(frozen=True)
class Provisioning:
    kiosk_id: str
    ward: str
    locale: str
    backoffice_url: str
    device_token: str = field(repr=False)
    ca_certificate_pem: str = field(repr=False)
    printer: Printer
    card_reader: CardReader
    ntp_servers: tuple[str, ...] = ()
    dev_allow_http: bool = False
    source: str = ""
    payment_terminal: PaymentTerminal | None = None
    maintainer_pin_hash: str = field(default="", repr=False)   # "": no maintainer exit
    # A kiosk without a TPM2 keeps its data partition unencrypted only if this says so.
    allow_no_tpm: bool = False
    # Instead of a token: a one-time code the first --apply trades for it (kiosk.enrol).
    enrolment_code: str = field(default="", repr=False)
    fleet: Fleet = field(default_factory=Fleet)

    def summary(self) -> dict[str, Any]:
        """What may be shown and logged: everything but the token and the certificate."""
        out = asdict(self)
        out.pop("device_token")
        out.pop("enrolment_code")
        out.pop("ca_certificate_pem")
        out["maintainer_pin_hash"] = "provisioned" if self.maintainer_pin_hash else "none"
        # the CA keys by their ids: the PEM text would only bloat applied.json and the log
        out["card_reader"]["trusted_ca"] = [kid for _, kid in self.card_reader.trusted_ca]
        return out


def _ward(s: Section, catalog_path: Path | None) -> str:
    ward = s.text("ward")
    catalog = load_catalog(catalog_path)
    if ward not in catalog.wards:
        raise s.error("ward", f"unknown ward {ward!r}; the catalog ({catalog.source}) has "
                      f"{', '.join(sorted(catalog.wards))}")
    return ward


def _url(s: Section, allow_http: bool) -> str:
    url = s.text("url")
    parts = urlsplit(url)
    if parts.scheme == "http" and not allow_http:
        raise s.error("url", f"must use https:// ({url!r}); plain http only with "
                      "dev_allow_http = true, never on a kiosk in a ward office")
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise s.error("url", f"must be an https:// URL with a host name, got {url!r}")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise s.error("url", "must not carry credentials, a query or a fragment; "
                      "the device token goes in token")
    return url.rstrip("/")


ENROLMENT_CODE = re.compile(r"^en_[A-Za-z0-9_-]{20,60}$")


def _enrolment_code(s: Section) -> str:
    """`enrolment_code` (from the admin page) instead of `token`: exactly one of them."""
    if not s.has("enrolment_code"):
        return ""
    if s.has("token"):
        raise s.error("enrolment_code", "give either token or enrolment_code, not both")
    code = s.text("enrolment_code")
    if not ENROLMENT_CODE.match(code):
        raise s.error("enrolment_code", "must be the one-time code the admin page showed: "
                      "'en_' and 20-60 characters A-Z a-z 0-9 _ -")
    return code


def _token(s: Section) -> str:
    if s.has("enrolment_code"):
        return ""
    token = s.text("token")
    if token != token.strip() or not DEVICE_TOKEN.match(token):
        raise s.error("token", "must be the device token the back-office issued: 'dv_' and "
                      "32-128 characters A-Z a-z 0-9 _ - (no spaces, no quotes)")
    return token


def _ca_certificate(s: Section, base: Path) -> str:
    if s.has("ca_certificate") == s.has("ca_certificate_file"):
        raise s.error("ca_certificate", "give exactly one of ca_certificate (the PEM text) "
                      "or ca_certificate_file (a path relative to this file)")
    if s.has("ca_certificate"):
        name, pem = "ca_certificate", s.text("ca_certificate")
    else:
        name = "ca_certificate_file"
        path = base / s.text(name)
        try:
            pem = path.read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError) as exc:
            raise s.error(name, f"cannot read {path}: {exc}") from None
    from cryptography import x509  # late: only provisioning needs it

    try:
        certs = x509.load_pem_x509_certificates(pem.encode("ascii", "replace"))
    except ValueError as exc:
        raise s.error(name, f"is not a PEM certificate ({exc})") from None
    now = dt.datetime.now(dt.UTC)
    for cert in certs:
        if cert.not_valid_after_utc < now:
            raise s.error(name, f"certificate {cert.subject.rfc4514_string()!r} expired on "
                          f"{cert.not_valid_after_utc:%Y-%m-%d}")
    return pem if pem.endswith("\n") else pem + "\n"


def _maintainer_pin_hash(s: Section) -> str:
    value = s.text("maintainer_pin_hash", "")
    if not value:
        return ""
    found = PIN_HASH.match(value)
    if found is None:
        raise s.error("maintainer_pin_hash", "must be the argon2id hash of this kiosk's "
                      "maintainer PIN (`python -m kiosk --hash-pin`), never the PIN itself")
    memory, passes, _ = (int(g) for g in found.groups())
    if memory < 19456 or passes < 2:
        raise s.error("maintainer_pin_hash", f"too cheap to guess against (m={memory}, "
                      f"t={passes}; at least m=19456, t=2): make it with --hash-pin")
    return value


def _usb_id(s: Section, key: str) -> str:
    value = s.text(key)
    if not USB_ID.match(value):
        raise s.error(key, f"must be 4 hex digits like \"04b8\", got {value!r}")
    return value.lower()


def _printer(s: Section) -> Printer:
    s.unknown_keys(("kind", "usb_vendor_id", "usb_product_id", "host", "port", "device",
                    "baudrate", "paper_width_mm"))
    kind = s.text("kind", choices=PRINTER_KINDS)
    width = s.integer("paper_width_mm", 80)
    if width not in PAPER_WIDTHS:
        raise s.error("paper_width_mm", f"must be 58 or 80, got {width}")
    if kind == "usb":
        vendor, product = (_usb_id(s, key) for key in ("usb_vendor_id", "usb_product_id"))
        return Printer(kind, usb_vendor_id=vendor, usb_product_id=product, paper_width_mm=width)
    if kind == "network":
        return Printer(kind, host=s.text("host"), port=s.integer("port", 9100, min=1, max=65535),
                       paper_width_mm=width)
    if kind == "serial":
        device = s.text("device")
        if not device.startswith("/dev/"):
            raise s.error("device", f"must be a device path under /dev/, got {device!r}")
        return Printer(kind, device=device, baudrate=s.integer("baudrate", 38400, min=1200),
                       paper_width_mm=width)
    return Printer(kind, paper_width_mm=width)


def _card_reader(s: Section) -> CardReader:
    from kiosk.card.trust import UNVERIFIABLE, trusted_ca_entries  # late: cryptography

    s.unknown_keys(("kind", "reader", "trusted_ca", "unverifiable"))
    return CardReader(s.text("kind", choices=READER_KINDS), s.text("reader", ""),
                      trusted_ca=trusted_ca_entries(s, Path(s.file).parent),
                      unverifiable=s.text("unverifiable", "accept_and_flag",
                                          choices=UNVERIFIABLE))


def _payment_terminal(s: Section) -> PaymentTerminal:
    if s.has("key"):
        raise s.error("key", "the terminal's key does not go to the kiosk: load it into the "
                      "terminal and register it at the back-office (docs/payment.md)")
    s.unknown_keys(("id", "host", "port"))
    terminal_id = s.text("id")
    if not re.match(r"^[A-Za-z0-9_.-]{1,64}$", terminal_id):
        raise s.error("id", f"must be the terminal's id (1-64 of A-Z a-z 0-9 _ . -), got "
                      f"{terminal_id!r}")
    host = s.text("host")
    if not re.match(r"^[A-Za-z0-9.:-]+$", host):
        raise s.error("host", f"{host!r} is not a host name or IP address")
    return PaymentTerminal(terminal_id, host, s.integer("port", 4100, min=1, max=65535))


def parse(data: dict[str, Any], file: str, *, catalog: Path | None = None) -> Provisioning:
    """Validate a parsed provisioning file; errors name the file and the key."""
    root = Section(data, file)
    root.unknown_keys(("kiosk", "backoffice", "printer", "card_reader", "network",
                       "payment_terminal", "security", "fleet"))
    k = root.section("kiosk")
    k.unknown_keys(("id", "ward", "locale", "maintainer_pin_hash"))
    kiosk_id = k.text("id")
    if not KIOSK_ID.match(kiosk_id):
        raise k.error("id", f"must be 1-32 characters a-z 0-9 and '-' (it becomes the host "
                      f"name), got {kiosk_id!r}")
    ward = _ward(k, catalog)
    locale = k.text("locale", "ja", choices=LANGUAGE_CODES)
    b = root.section("backoffice")
    b.unknown_keys(("url", "token", "enrolment_code", "ca_certificate", "ca_certificate_file",
                    "dev_allow_http"))
    allow_http = b.flag("dev_allow_http", False)
    n = root.section("network", {})
    n.unknown_keys(("ntp_servers",))
    ntp = n.texts("ntp_servers", [])
    for server in ntp:
        if not re.match(r"^[A-Za-z0-9.:-]+$", server):
            raise n.error("ntp_servers", f"{server!r} is not a host name or IP address")
    sec = root.section("security", {})
    sec.unknown_keys(("allow_no_tpm",))
    return Provisioning(
        kiosk_id=kiosk_id, ward=ward, locale=locale,
        backoffice_url=_url(b, allow_http), device_token=_token(b),
        enrolment_code=_enrolment_code(b),
        ca_certificate_pem=_ca_certificate(b, Path(file).parent),
        printer=_printer(root.section("printer")),
        card_reader=_card_reader(root.section("card_reader")),
        ntp_servers=ntp, dev_allow_http=allow_http, source=file,
        payment_terminal=(_payment_terminal(root.section("payment_terminal"))
                          if root.has("payment_terminal") else None),
        maintainer_pin_hash=_maintainer_pin_hash(k),
        allow_no_tpm=sec.flag("allow_no_tpm", False),
        fleet=_fleet(root.section("fleet", {})))


def load(path: str | os.PathLike[str], *, catalog: Path | None = None) -> Provisioning:
    return parse(read_toml(path), str(path), catalog=catalog)


# --- applying it on the kiosk -----------------------------------------------------------

def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a TOML basic string
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        pairs = (f"{json.dumps(k)} = {_toml_value(v)}" for k, v in value.items())
        return "{" + ", ".join(pairs) + "}"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def dump_toml(data: dict[str, dict[str, Any]], header: str = "") -> str:
    """Write a config of [sections] holding scalars, lists and inline tables."""
    lines = [f"# {line}" for line in header.splitlines()]
    for name, table in data.items():
        lines += ["", f"[{name}]"]
        lines += [f"{json.dumps(k)} = {_toml_value(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"


def _fill(cfg: dict[str, dict[str, Any]], section: str, **values: Any) -> None:
    """Set the keys the shipped section already has: the section's owner decides its
    schema, so a key it does not know is never invented here."""
    table = cfg.get(section)
    if table is not None:
        table.update({k: v for k, v in values.items() if k in table})


def kiosk_config(p: Provisioning, template: dict[str, Any], state: Path) -> dict[str, Any]:
    """The shipped config/kiosk.toml with this kiosk's values put in."""
    cfg = {name: dict(table) for name, table in template.items()}
    _fill(cfg, "backoffice", url=p.backoffice_url, ward=p.ward,
          device_token_file=str(state / "device-token"), ca_bundle=str(state / "ca.pem"),
          insecure_http=p.dev_allow_http)
    _fill(cfg, "store", path=str(state.parent / "store" / "kiosk.db"),
          key_file=str(state / "outbox.key"))
    ui = cfg.get("ui", {})
    _fill(cfg, "ui", ward=p.ward, language=p.locale)
    # This kiosk's maintainer PIN only, never one shipped with the image; its tries and
    # lock beside the store (writable by the kiosk user, kept across restarts).
    _fill(cfg, "ui", maintainer_pin_hash=p.maintainer_pin_hash,
          maintainer_lock_file=str(state.parent / "store" / "maintainer-lock.json"))
    if p.card_reader.kind == "standin":
        _fill(cfg, "card", backend="standin")
    if "languages" in ui and p.locale not in ui["languages"]:
        ui["languages"] = [p.locale, *ui["languages"]]
    pr = p.printer
    model = cfg.get("printer", {}).get("model", "")
    if pr.paper_width_mm == 58 and "58mm" not in model:
        model = "generic-58mm"
    elif pr.paper_width_mm == 80 and "58mm" in model:
        model = "generic-80mm"
    _fill(cfg, "printer", transport=pr.kind, model=model)
    if p.fleet != Fleet():   # else the shipped [fleet] (no updates)
        _fill(cfg, "fleet", updater=p.fleet.updater, check_seconds=p.fleet.check_seconds,
              reboot_window=p.fleet.reboot_window)
    if pr.kind == "usb":
        _fill(cfg, "printer", usb_vendor_id=int(pr.usb_vendor_id, 16),
              usb_product_id=int(pr.usb_product_id, 16))
    elif pr.kind == "network":
        _fill(cfg, "printer", host=pr.host, port=pr.port)
    elif pr.kind == "serial":
        _fill(cfg, "printer", serial_device=pr.device, serial_baudrate=pr.baudrate)
    if p.payment_terminal is not None:
        pay = cfg.setdefault("payment", {})
        pay["terminal"] = {**pay.get("terminal", {}), "host": p.payment_terminal.host,
                           "port": p.payment_terminal.port, "sale_id": p.kiosk_id}
    # A stand-in card reader is the app's in-process stand-in (ui.card above); [card]
    # keeps its real backend for when the kiosk is re-provisioned with a reader.
    _fill(cfg, "card", reader=p.card_reader.reader, unverifiable=p.card_reader.unverifiable)
    if p.card_reader.trusted_ca:   # the files are written beside kiosk.toml by apply()
        _fill(cfg, "card", trusted_ca=[
            {"file": f"cards/trusted-ca-{i}.pem", "key_id": kid}
            for i, (_, kid) in enumerate(p.card_reader.trusted_ca, 1)])
    return cfg


def _write(path: Path, text: str, mode: int = 0o644, owner: tuple[int, int] | None = None) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.chmod(tmp, mode)
    if owner is not None:
        os.chown(tmp, *owner)
    os.replace(tmp, path)


# The back-office's settings (backoffice.toml: its payment provider) are not the kiosk's.
SHIPPED_CONFIG = ("kiosk.toml", "catalog.toml", "life_events.toml")
# What earlier versions copied to a kiosk: taken away on the next apply.
FORMER_CONFIG = ("payment.toml", "backoffice.toml")


def _shipped_digest(template_dir: Path) -> str:
    """The image's own config files: a new image with a changed template rewrites the
    kiosk's config even when provision.toml stayed the same."""
    h = hashlib.sha256()
    for path in sorted([*(template_dir / n for n in SHIPPED_CONFIG),
                        *(template_dir / "cards").glob("**/*")]):
        if path.is_file():
            h.update(path.relative_to(template_dir).as_posix().encode() + b"\0")
            h.update(path.read_bytes())
    return h.hexdigest()


def apply(file: Path, state: Path, config_dir: Path, *, owner: tuple[int, int] | None = None,
          runtime_root: Path | None = None, set_hostname: bool = False,
          template_dir: Path = CONFIG_DIR) -> dict[str, Any]:
    """Validate `file` and make it the kiosk's configuration. Raises ConfigError, changing
    nothing, when the file is bad. Returns what was applied (no secrets)."""
    raw = file.read_bytes() if file.exists() else b""
    p = load(file, catalog=template_dir / "catalog.toml")
    digest = hashlib.sha256(raw).hexdigest()
    shipped = _shipped_digest(template_dir)
    state.mkdir(parents=True, exist_ok=True)
    config_dir.mkdir(parents=True, exist_ok=True)
    applied_file = state / "applied.json"
    previous = json.loads(applied_file.read_text()) if applied_file.exists() else {}
    first = previous.get("sha256") != digest
    if first:
        token = p.device_token
        if p.enrolment_code:  # before anything is written: a refusal changes nothing
            from kiosk.enrol import redeem
            token = redeem(p.backoffice_url, p.enrolment_code, p.ca_certificate_pem, p.source)
        _write(state / "provision.toml", raw.decode("utf-8"), 0o600)
        _write(state / "device-token", token + "\n", 0o600, owner)
        _write(state / "ca.pem", p.ca_certificate_pem)
    if first or previous.get("shipped_config_sha256") != shipped:
        for name in SHIPPED_CONFIG[1:]:
            if (template_dir / name).exists():
                shutil.copyfile(template_dir / name, config_dir / name)
        for name in FORMER_CONFIG:
            (config_dir / name).unlink(missing_ok=True)
        if (template_dir / "cards").is_dir():
            shutil.copytree(template_dir / "cards", config_dir / "cards", dirs_exist_ok=True)
        (config_dir / "cards").mkdir(exist_ok=True)
        for i, (pem, _) in enumerate(p.card_reader.trusted_ca, 1):
            _write(config_dir / "cards" / f"trusted-ca-{i}.pem", pem)
        template = read_toml(template_dir / "kiosk.toml")
        _write(config_dir / "kiosk.toml", dump_toml(
            kiosk_config(p, template, state),
            f"Written by `python -m kiosk provision --apply` from {file}\n"
            f"(sha256 {digest[:16]}); edit provision.toml on the config partition instead."))
    if not (state / "outbox.key").exists():
        from kiosk.sync.sealing import generate_key  # late: cryptography, only here
        generate_key(state / "outbox.key")
    if owner is not None:
        os.chown(state / "outbox.key", *owner)
    if runtime_root is not None and p.ntp_servers:
        conf = runtime_root / "systemd" / "timesyncd.conf.d"
        conf.mkdir(parents=True, exist_ok=True)
        _write(conf / "kiosk.conf", "[Time]\nNTP=" + " ".join(p.ntp_servers) + "\n")
    if set_hostname:
        socket.sethostname(p.kiosk_id)
    result = {"sha256": digest, "shipped_config_sha256": shipped,
              "kiosk": p.summary(), "source": str(file),
              "applied_at": previous.get("applied_at") if not first
              else dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
              "first_boot": first}
    _write(applied_file, json.dumps(result, ensure_ascii=False, indent=1) + "\n")
    (state / "last-error.txt").unlink(missing_ok=True)
    return result


def _owner(name: str | None) -> tuple[int, int] | None:
    if not name:
        return None
    import pwd

    entry = pwd.getpwnam(name)
    return entry.pw_uid, entry.pw_gid


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m kiosk provision", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = ap.add_mutually_exclusive_group(required=True)
    mode.add_argument("--check", metavar="FILE", type=Path, help="validate FILE and exit")
    mode.add_argument("--apply", metavar="FILE", type=Path, help="validate and apply FILE")
    mode.add_argument("--allows-no-tpm", metavar="FILE", type=Path,
                      help="exit 0 only if FILE is valid and says [security] allow_no_tpm")
    ap.add_argument("--catalog", type=Path, help="catalog.toml to check the ward against")
    ap.add_argument("--state", type=Path, help="where --apply keeps token, CA and status")
    ap.add_argument("--config-dir", type=Path, help="where --apply writes kiosk.toml")
    ap.add_argument("--owner", help="user who must read the token and key (the kiosk user)")
    ap.add_argument("--runtime-root", type=Path, help="e.g. /run: timesyncd drop-in for NTP")
    ap.add_argument("--set-hostname", action="store_true", help="host name = kiosk id")
    args = ap.parse_args(argv)
    if args.allows_no_tpm:
        try:
            allowed = load(args.allows_no_tpm, catalog=args.catalog).allow_no_tpm
        except ConfigError as exc:
            print(f"provisioning: {exc}", file=sys.stderr)
            return 1
        print(f"{args.allows_no_tpm}: [security] allow_no_tpm = {str(allowed).lower()}")
        return 0 if allowed else 1
    if args.check:
        try:
            p = load(args.check, catalog=args.catalog)
        except ConfigError as exc:
            print(f"provisioning: {exc}", file=sys.stderr)
            return 1
        print(f"{args.check}: OK: kiosk {p.kiosk_id} in ward {p.ward}, back-office "
              f"{p.backoffice_url}, printer {p.printer.kind}, card reader {p.card_reader.kind}"
              + (" (dev: plain http allowed)" if p.dev_allow_http else "")
              + ("" if p.maintainer_pin_hash else "; no maintainer PIN (no maintainer exit)"))
        return 0
    if args.state is None or args.config_dir is None:
        ap.error("--apply needs --state and --config-dir")
    try:
        result = apply(args.apply, args.state, args.config_dir, owner=_owner(args.owner),
                       runtime_root=args.runtime_root, set_hostname=args.set_hostname)
    except ConfigError as exc:
        args.state.mkdir(parents=True, exist_ok=True)
        kept = ("the last good provisioning stays in force"
                if (args.state / "applied.json").exists() else "the kiosk is NOT provisioned")
        _write(args.state / "last-error.txt", f"{exc}\n{kept}\n")
        print(f"provisioning: {exc}; {kept}", file=sys.stderr)
        return 1
    what = "applied (first boot with this file)" if result["first_boot"] else "unchanged"
    print(f"provisioning {what}: kiosk {result['kiosk']['kiosk_id']} ward "
          f"{result['kiosk']['ward']} from {result['source']}")
    return 0
