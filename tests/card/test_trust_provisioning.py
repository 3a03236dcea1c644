"""The card check made real: J-LIS CA keys come from the provisioning file (validated),
reach [card] trusted_ca of the kiosk's config, and the unverifiable policy reaches the
resident session."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from kiosk import provision
from kiosk.card.authenticity import key_id
from kiosk.card.config import CardConfig
from kiosk.domain.card_check import UnverifiablePolicy
from kiosk.domain.errors import ConfigError
from kiosk.ui.settings import UiConfig

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "config" / "provision.example.toml"


def public_pem(bits: int = 2048) -> tuple[str, rsa.RSAPublicKey]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits).public_key()
    pem = key.public_bytes(serialization.Encoding.PEM,
                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return pem, key


def provision_file(tmp_path: Path, card_reader: str) -> Path:
    text = EXAMPLE.read_text(encoding="utf-8")
    start, end = text.index("[card_reader]"), text.index("[payment_terminal]")
    path = tmp_path / "provision.toml"
    path.write_text(text[:start] + "[card_reader]\n" + card_reader + "\n" + text[end:],
                    encoding="utf-8")
    return path


def test_provisioned_ca_keys_and_policy_reach_the_kiosk(tmp_path: Path) -> None:
    pem1, key1 = public_pem()
    pem2, _ = public_pem()
    (tmp_path / "jlis-2.pem").write_text(pem2)
    kid2 = "00112233445566778899aabbccddeeff"
    path = provision_file(tmp_path, f'kind = "pcsc"\ntrusted_ca = [{pem1!r}, '
                          f'{{ file = "jlis-2.pem", key_id = "{kid2}" }}]\n'
                          'unverifiable = "refuse"\n'.replace("'", '"""'))
    p = provision.load(path)
    assert [kid for _, kid in p.card_reader.trusted_ca] == [key_id(key1).hex(), kid2]
    assert p.summary()["card_reader"]["trusted_ca"] == [key_id(key1).hex(), kid2]
    config = tmp_path / "config"
    provision.apply(path, tmp_path / "state", config)
    card = CardConfig.load(config / "kiosk.toml")
    assert [ca.key_id.hex() for ca in card.trusted_ca] == [key_id(key1).hex(), kid2]
    assert card.unverifiable == "refuse"
    assert UiConfig.load(config / "kiosk.toml").session.unverifiable is UnverifiablePolicy.REFUSE
    assert "PRIVATE" not in (config / "cards" / "trusted-ca-1.pem").read_text()


def test_example_ships_without_keys_and_accepts_and_flags(tmp_path: Path) -> None:
    p = provision.load(EXAMPLE)
    assert p.card_reader.trusted_ca == () and p.card_reader.unverifiable == "accept_and_flag"
    provision.apply(EXAMPLE, tmp_path / "state", tmp_path / "config")
    card = CardConfig.load(tmp_path / "config" / "kiosk.toml")
    assert card.trusted_ca == () and card.unverifiable == "accept_and_flag"


@pytest.mark.parametrize(("entry", "words"), [
    ('"not a key"', "is not an RSA public key"),
    ("SHORT", "1024 bits"),
    ("TESTCA", "CI test CA"),
    ('{ pem = "x", file = "y" }', "must be PEM text or"),
    ('{ file = "missing.pem" }', "cannot read"),
    ("KEY_ID", "key_id must be 32 hex digits"),
    ("TWICE", "twice"),
])
def test_bad_ca_entries_are_refused(tmp_path: Path, entry: str, words: str) -> None:
    pem, _ = public_pem()
    short, _ = public_pem(1024)
    values = {"SHORT": f'"""{short}"""', "TESTCA": '{ file = "test-ca.pem" }',
              "KEY_ID": f'{{ pem = """{pem}""", key_id = "abc" }}',
              "TWICE": f'"""{pem}""", """{pem}"""'}
    (tmp_path / "test-ca.pem").write_text((REPO / "config/cards/test-ca.pem").read_text())
    path = provision_file(tmp_path, f'kind = "pcsc"\ntrusted_ca = [{values.get(entry, entry)}]')
    with pytest.raises(ConfigError, match=words) as err:
        provision.load(path)
    assert "card_reader.trusted_ca" in str(err.value)


def test_unknown_policy_is_refused(tmp_path: Path) -> None:
    path = provision_file(tmp_path, 'kind = "pcsc"\nunverifiable = "maybe"')
    with pytest.raises(ConfigError, match="accept_and_flag, refuse"):
        provision.load(path)
