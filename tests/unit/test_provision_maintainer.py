"""The maintainer PIN is provisioned per kiosk, as a hash; none is shipped."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from kiosk import provision
from kiosk.configfile import CONFIG_DIR
from kiosk.domain.errors import ConfigError
from kiosk.sync.settings import load_settings
from kiosk.ui.maintainer_gate import hash_pin, pin_matches
from kiosk.ui.settings import UiConfig

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "config" / "provision.example.toml"


def with_kiosk_line(tmp_path: Path, line: str) -> Path:
    text = EXAMPLE.read_text(encoding="utf-8")
    marker = 'locale = "ja"'
    path = tmp_path / "provision.toml"
    path.write_text(text.replace(marker, f"{marker}\n{line}", 1), encoding="utf-8")
    return path


def test_no_maintainer_pin_hash_is_shipped() -> None:
    shipped = tomllib.loads((CONFIG_DIR / "kiosk.toml").read_text(encoding="utf-8"))
    assert shipped["ui"]["maintainer_pin_hash"] == ""
    assert UiConfig.load().maintainer_pin_hash == ""
    for path in (REPO / "config").rglob("*.toml"):
        assert "$argon2id$v=19$m=19456,t=2,p=1$MPzct6" not in path.read_text()


def test_provisioned_hash_reaches_the_app_and_opens_with_its_pin(tmp_path: Path) -> None:
    pin_hash = hash_pin("839201")
    path = with_kiosk_line(tmp_path, f'maintainer_pin_hash = "{pin_hash}"')
    data = tmp_path / "data"
    result = provision.apply(path, data / "provisioned", data / "config")
    assert result["kiosk"]["maintainer_pin_hash"] == "provisioned"
    assert pin_hash not in (data / "provisioned" / "applied.json").read_text()
    ui = UiConfig.load(data / "config" / "kiosk.toml")
    assert ui.maintainer_pin_hash == pin_hash and pin_matches(ui.maintainer_pin_hash, "839201")
    assert ui.maintainer_lock_file == data / "store" / "maintainer-lock.json"
    assert load_settings(data / "config" / "kiosk.toml").backoffice.insecure_http is False


def test_without_a_hash_the_kiosk_has_no_maintainer_exit(tmp_path: Path) -> None:
    data = tmp_path / "data"
    provision.apply(EXAMPLE, data / "provisioned", data / "config")
    assert UiConfig.load(data / "config" / "kiosk.toml").maintainer_pin_hash == ""
    done = subprocess.run([sys.executable, "-m", "kiosk", "provision", "--check",
                           str(EXAMPLE)], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert "no maintainer PIN (no maintainer exit)" in done.stdout


@pytest.mark.parametrize(("value", "words"), [
    ("246801", "never the PIN itself"),
    ("$argon2i$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$"
     "aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g", "never the PIN itself"),
    ("$argon2id$v=19$m=1024,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$"
     "aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g", "too cheap"),
])
def test_a_pin_or_a_weak_hash_is_refused(tmp_path: Path, value: str, words: str) -> None:
    path = with_kiosk_line(tmp_path, f'maintainer_pin_hash = "{value}"')
    with pytest.raises(ConfigError) as info:
        provision.load(path)
    assert info.value.key == "kiosk.maintainer_pin_hash" and words in str(info.value)



def test_dev_allow_http_writes_insecure_http(tmp_path: Path) -> None:
    text = EXAMPLE.read_text(encoding="utf-8").replace(
        'url = "https://queue.city.example.jp"', 'url = "http://192.168.1.10:8080"').replace(
        "# dev_allow_http = true", "dev_allow_http = true")
    path = tmp_path / "provision.toml"
    path.write_text(text, encoding="utf-8")
    data = tmp_path / "data"
    provision.apply(path, data / "provisioned", data / "config")
    b = load_settings(data / "config" / "kiosk.toml").backoffice
    assert b.url == "http://192.168.1.10:8080" and b.insecure_http


def test_the_demo_makes_its_own_pin_each_run(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    from devtools.kiosk_demo import new_demo_pin, with_demo_maintainer
    cfg = with_demo_maintainer(UiConfig.load(), tmp_path)
    pin = capsys.readouterr().out.split("maintainer PIN for this run: ")[1].split()[0]
    assert pin_matches(cfg.maintainer_pin_hash, pin)
    assert cfg.maintainer_lock_file == tmp_path / "maintainer-lock.json"
    other_pin, other_hash = new_demo_pin()          # the orchestrator's, shown by it
    cfg = with_demo_maintainer(UiConfig.load(), tmp_path, other_hash)
    assert cfg.maintainer_pin_hash == other_hash and pin_matches(other_hash, other_pin)
    assert capsys.readouterr().out == ""
