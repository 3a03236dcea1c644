"""One-time enrolment codes (issue #20) through a real back-office process: the admin makes
a code, the kiosk's provisioning (`kiosk.provision.apply`) trades it at first boot for its
own device token, which works; the code works once, expires, and is refused with nothing
written; a ward's admin makes codes for its own ward's devices only; the audit trail says
who made the code and that the enrolment re-keyed the device."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import update

from kiosk import provision
from kiosk.backoffice import models as m
from kiosk.backoffice.clock import utcnow
from kiosk.backoffice.db import make_engine
from kiosk.domain.errors import ConfigError
from tests.backoffice.accounts import create_account, sign_in
from tests.backoffice.conftest import ok

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "provision.example.toml"


def provision_file(folder: Path, url: str, code: str) -> Path:
    text = EXAMPLE.read_text(encoding="utf-8")
    text = re.sub(r'(?m)^url = ".*?"', f'url = "{url}"', text)
    text = re.sub(r'(?m)^token = ".*?"', f'enrolment_code = "{code}"', text)
    text = text.replace("# dev_allow_http = true", "dev_allow_http = true")
    path = folder / "provision.toml"
    path.write_text(text, encoding="utf-8")
    return path


def new_device(server: Any, name: str) -> int:
    return int(ok(server.session("admin").post(server.api("/admin/devices"), timeout=10, json={
        "name": name, "kind": "kiosk", "ward": "kita"}), 201)["id"])


def new_code(session: requests.Session, server: Any, device: int) -> requests.Response:
    return session.post(server.api(f"/admin/devices/{device}/enrolment-code"), timeout=10)


def token_works(server: Any, token: str) -> bool:
    return requests.get(server.api("/device/config"), timeout=10, headers={
        "Authorization": f"Bearer {token}"}).status_code == 200


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def server(request: pytest.FixtureRequest, backoffice_factory: Any) -> Any:
    return backoffice_factory.start(None if request.param == "sqlite" else "postgres")


def test_a_kiosk_enrols_once_with_its_code(server: Any, tmp_path: Path) -> None:
    device = new_device(server, "kiosk-kita-5")
    made = ok(new_code(server.session("admin"), server, device), 201)
    assert made["device"] == "kiosk-kita-5" and made["code"].startswith("en_")

    file = provision_file(tmp_path, server.url, made["code"])
    state, conf = tmp_path / "state", tmp_path / "conf"
    result = provision.apply(file, state, conf, template_dir=EXAMPLE.parent)
    assert result["first_boot"] and "enrolment_code" not in result["kiosk"]
    token = (state / "device-token").read_text().strip()
    assert token_works(server, token)
    assert made["code"] not in (state / "applied.json").read_text()

    # The same file at the next boot: already applied, nothing traded again.
    assert not provision.apply(file, state, conf, template_dir=EXAMPLE.parent)["first_boot"]
    # The code is spent.
    again = requests.post(server.api("/device/enrol"), json={"code": made["code"]}, timeout=10)
    assert again.status_code == 403 and again.json()["error"] == "enrolment_refused"
    assert token_works(server, token)

    events = ok(server.session("admin").get(server.api("/admin/account-events"), timeout=10))
    mine = [(e["action"], e["actor"]) for e in events if e["target"] == "kiosk-kita-5"]
    assert ("device.enrolment_code", "admin") in mine
    assert ("device.token_rotated", "enrolment") in mine


def test_an_expired_or_unknown_code_is_refused_and_nothing_written(backoffice: Any,
                                                                   tmp_path: Path) -> None:
    server = backoffice
    device = new_device(server, "kiosk-kita-6")
    code = ok(new_code(server.session("admin"), server, device), 201)["code"]
    engine = make_engine(server.db_url, pool_size=1)
    try:
        with engine.begin() as conn:
            conn.execute(update(m.enrolment_codes).values(
                expires_at=utcnow() - timedelta(seconds=1)))
    finally:
        engine.dispose()
    state = tmp_path / "state"
    with pytest.raises(ConfigError, match="refused"):
        provision.apply(provision_file(tmp_path, server.url, code), state, tmp_path / "conf",
                        template_dir=EXAMPLE.parent)
    assert not (state / "device-token").exists()
    made_up = requests.post(server.api("/device/enrol"), json={"code": "en_" + "A" * 22},
                            timeout=10)
    assert made_up.status_code == 403
    assert requests.post(server.api("/device/enrol"), json={"code": "dv_nope"},
                         timeout=10).status_code == 422


def test_a_ward_admin_makes_codes_for_its_own_ward_only(backoffice: Any) -> None:
    server = backoffice
    device = new_device(server, "kiosk-kita-7")
    naka = sign_in(server, "admin-naka", create_account(server, "admin-naka", "admin", "naka"))
    assert new_code(naka, server, device).status_code == 403
    kita = sign_in(server, "admin-kita", create_account(server, "admin-kita", "admin", "kita"))
    assert new_code(kita, server, device).status_code == 201
    assert new_code(kita, server, 999_999).status_code == 404
