"""`python -m kiosk provision --check FILE` as a maintainer runs it: a subprocess, exit
status and the message naming file and key."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "config" / "provision.example.toml"


def check(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kiosk", "provision", "--check", str(path)],
                          cwd=REPO, capture_output=True, text=True, timeout=60)


def ca_pem(days: int) -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test Ward CA")])
    now = dt.datetime.now(dt.UTC)
    start, end = (now - dt.timedelta(days=30), now + dt.timedelta(days=days)) if days > 0 \
        else (now - dt.timedelta(days=60), now + dt.timedelta(days=days))
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(end).sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def variant(tmp_path: Path, old: str, new: str) -> Path:
    text = EXAMPLE.read_text(encoding="utf-8")
    assert old in text, old
    path = tmp_path / "provision.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def test_example_is_valid() -> None:
    done = check(EXAMPLE)
    assert done.returncode == 0, done.stderr
    assert "OK: kiosk kita-01 in ward kita" in done.stdout
    assert "dv_" not in done.stdout  # the token is never echoed


def test_ca_certificate_file_beside_the_provisioning_file(tmp_path: Path) -> None:
    (tmp_path / "city-ca.pem").write_text(ca_pem(365))
    text = EXAMPLE.read_text(encoding="utf-8")
    start = text.index('ca_certificate = """')
    end = text.index('"""', start + 20) + 3
    path = tmp_path / "provision.toml"
    path.write_text(text[:start] + 'ca_certificate_file = "city-ca.pem"' + text[end:])
    done = check(path)
    assert done.returncode == 0, done.stderr


def test_plain_http_only_with_the_dev_flag(tmp_path: Path) -> None:
    path = variant(tmp_path, 'url = "https://queue.city.example.jp"',
                   'url = "http://192.168.1.10:8080"')
    done = check(path)
    assert done.returncode == 1
    assert f"{path}: backoffice.url: must use https://" in done.stderr
    path.write_text(path.read_text().replace("# dev_allow_http = true", "dev_allow_http = true"))
    done = check(path)
    assert done.returncode == 0, done.stderr
    assert "dev: plain http allowed" in done.stdout


BAD = [
    ('ward = "kita"', 'ward = "kitaa"', "kiosk.ward: unknown ward 'kitaa'"),
    ('id = "kita-01"', 'id = "Kita 01"', "kiosk.id: must be 1-32 characters"),
    ('locale = "ja"', 'locale = "fr"', "kiosk.locale: must be one of"),
    ('url = "https://queue.city.example.jp"', 'url = "ftp://queue.city.example.jp"',
     "backoffice.url: must be an https:// URL"),
    ('url = "https://queue.city.example.jp"', 'url = "https://queue.example.jp/?token=x"',
     "backoffice.url: must not carry credentials"),
    ('token = "dv_', 'token = "CHANGE-ME', "backoffice.token: must be the device token"),
    ('token = "dv_R28_nu1', 'token = "dv_R28 nu1', "backoffice.token: must be the device token"),
    ("-----BEGIN CERTIFICATE-----\nMII", "-----BEGIN CERTIFICATE-----\nXXX",
     "backoffice.ca_certificate: is not a PEM certificate"),
    ('kind = "usb"', 'kind = "parallel"', "printer.kind: must be one of usb, network"),
    ('usb_vendor_id = "04b8"', 'usb_vendor_id = "4b8"', "printer.usb_vendor_id: must be 4 hex"),
    ("paper_width_mm = 80", "paper_width_mm = 72", "printer.paper_width_mm: must be 58 or 80"),
    ('reader = "Sony FeliCa"', 'readr = "Sony FeliCa"', "card_reader.readr: unknown key"),
    ('ntp_servers = ["ntp.city.example.jp"]', 'ntp_servers = "ntp.city.example.jp"',
     "network.ntp_servers: must be a list of strings"),
    ('[kiosk]', '[kiosk\n', "(syntax)"),
    ('updater = "none"', 'updater = "swupdate"', "fleet.updater: must be one of rauc, none"),
    ('updater = "none"', 'updater = "rauc"\nreboot_window = "2:00-5:00"',
     "fleet.reboot_window: '2:00-5:00' is not HH:MM-HH:MM"),
    ('updater = "none"', 'updater = "rauc"\ncheck_seconds = 0', "fleet.check_seconds"),
]


@pytest.mark.parametrize(("old", "new", "message"), BAD, ids=[b[2][:30] for b in BAD])
def test_bad_file_names_file_and_key(tmp_path: Path, old: str, new: str, message: str) -> None:
    path = variant(tmp_path, old, new)
    done = check(path)
    assert done.returncode == 1, done.stdout
    assert done.stderr.startswith(f"provisioning: {path}: "), done.stderr
    assert message in done.stderr
    assert "dv_R28" not in done.stderr  # a bad file's token is not echoed either


def test_missing_section_and_missing_file(tmp_path: Path) -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    path = tmp_path / "provision.toml"
    path.write_text(text[:text.index("[printer]")] + text[text.index("[card_reader]"):])
    done = check(path)
    assert done.returncode == 1 and f"{path}: printer: is required" in done.stderr
    done = check(tmp_path / "nowhere.toml")
    assert done.returncode == 1 and "nowhere.toml: (file): does not exist" in done.stderr


def test_expired_ca_is_refused(tmp_path: Path) -> None:
    (tmp_path / "old-ca.pem").write_text(ca_pem(-1))
    text = EXAMPLE.read_text(encoding="utf-8")
    start = text.index('ca_certificate = """')
    end = text.index('"""', start + 20) + 3
    path = tmp_path / "provision.toml"
    path.write_text(text[:start] + 'ca_certificate_file = "old-ca.pem"' + text[end:])
    done = check(path)
    assert done.returncode == 1
    assert "backoffice.ca_certificate_file: certificate 'CN=Test Ward CA' expired on" in done.stderr


def allows_no_tpm(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kiosk", "provision", "--allows-no-tpm",
                           str(path)], cwd=REPO, capture_output=True, text=True, timeout=60)


def test_a_kiosk_without_tpm_is_refused_unless_the_file_allows_it(tmp_path: Path) -> None:
    """kiosk-data.service asks this before leaving the data partition unencrypted."""
    assert allows_no_tpm(EXAMPLE).returncode == 1           # the example: refused
    no_section = tmp_path / "no-section" / "provision.toml"
    no_section.parent.mkdir()
    text = EXAMPLE.read_text(encoding="utf-8")
    no_section.write_text(text[:text.index("[security]")], encoding="utf-8")
    assert check(no_section).returncode == 0
    assert allows_no_tpm(no_section).returncode == 1        # default: refused
    allowed = variant(tmp_path, "allow_no_tpm = false", "allow_no_tpm = true")
    done = allows_no_tpm(allowed)
    assert done.returncode == 0 and "allow_no_tpm = true" in done.stdout, done.stderr
    assert allows_no_tpm(tmp_path / "missing.toml").returncode == 1


@pytest.mark.parametrize("old,new,message", [
    ("allow_no_tpm = false", 'allow_no_tpm = "yes"', "security.allow_no_tpm"),
    ("allow_no_tpm = false", "allow_no_tmp = true", "security.allow_no_tmp"),
])
def test_security_section_is_validated(tmp_path: Path, old: str, new: str,
                                       message: str) -> None:
    path = variant(tmp_path, old, new)
    for done in (check(path), allows_no_tpm(path)):
        assert done.returncode == 1 and message in done.stderr, done.stderr
