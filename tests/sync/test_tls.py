"""The kiosk's link to the back-office over TLS: the real back-office served by uvicorn
with a certificate of a throw-away ward CA on loopback; the kiosk trusts that CA alone
([backoffice] ca_bundle), refuses a server of another CA with a clear error, and refuses
plain http:// unless insecure_http says so."""

from __future__ import annotations

import dataclasses
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from kiosk.backoffice.app import ENV_CATALOG, ENV_CONFIG, ENV_DB
from kiosk.domain.errors import ConfigError
from kiosk.sync import KioskLink
from kiosk.sync.client import BackofficeClient, Unreachable
from kiosk.sync.settings import parse_settings
from tests.support.backoffice import REPO, ServerFactory, server_config
from tests.support.postgres import free_port
from tests.sync.helpers import settings
from tests.sync.tlsca import make_ca_and_server


@dataclasses.dataclass
class TlsBackoffice:
    url: str
    ca: Path
    kiosk_token: str


@pytest.fixture
def tls_backoffice(tmp_path: Path) -> Iterator[TlsBackoffice]:
    var = tmp_path / "bo"
    var.mkdir()
    db_url, secrets_ = ServerFactory(tmp_path).sqlite_database(var)
    ca, cert, key = make_ca_and_server(var)
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO), ENV_DB: db_url,
           ENV_CONFIG: str(server_config(var / "backoffice.toml")), ENV_CATALOG: ""}
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "kiosk.backoffice.app:app_from_env", "--factory",
         "--host", "127.0.0.1", "--port", str(port), "--ssl-certfile", str(cert),
         "--ssl-keyfile", str(key), "--log-level", "warning"],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True)
    url = f"https://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None and time.monotonic() < deadline, "no TLS back-office"
            try:
                if requests.get(url + "/healthz", verify=str(ca), timeout=1).ok:
                    break
            except requests.RequestException:
                time.sleep(0.1)
        token = next(d["token"] for d in secrets_["devices"]
                     if d["kind"] == "kiosk" and d["ward"] == "kita")
        yield TlsBackoffice(url, ca, token)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(15)


def test_kiosk_talks_to_the_back_office_it_pins(tmp_path: Path,
                                               tls_backoffice: TlsBackoffice) -> None:
    s = settings(tmp_path, tls_backoffice.url, token=tls_backoffice.kiosk_token)
    s = dataclasses.replace(s, backoffice=dataclasses.replace(
        s.backoffice, ca_bundle=tls_backoffice.ca, insecure_http=False))
    link = KioskLink(s)
    try:
        answer = link.client.post("/api/v1/device/heartbeat", {"status": "ok"})
        assert "server_time" in answer
        assert link.client.get("/api/v1/device/config")["ward"]["code"] == "kita"
    finally:
        link.stop()


def test_a_back_office_of_another_ca_is_refused_clearly(
        tmp_path: Path, tls_backoffice: TlsBackoffice,
        caplog: pytest.LogCaptureFixture) -> None:
    other = tmp_path / "other"
    other.mkdir()
    other_ca, _, _ = make_ca_and_server(other)
    b = settings(tmp_path, tls_backoffice.url, token=tls_backoffice.kiosk_token).backoffice
    for trusted in (other_ca, None):     # another ward's CA; the system's trust store
        client = BackofficeClient(dataclasses.replace(b, ca_bundle=trusted))
        caplog.clear()
        with caplog.at_level(logging.ERROR, logger="kiosk.sync.client"), \
                pytest.raises(Unreachable) as info:
            client.post("/api/v1/device/heartbeat", {"status": "ok"},
                        idempotency_key="tls-1", attempts=3)
        assert info.value.maybe_sent is False          # nothing, not even the token, left
        assert "TLS" in str(info.value) and "CERTIFICATE_VERIFY_FAILED" in str(info.value)
        assert f"TLS verification failed for {tls_backoffice.url}" in caplog.text


def test_plain_http_is_refused_without_the_switch(tmp_path: Path) -> None:
    b = settings(tmp_path, "http://127.0.0.1:9").backoffice   # the fixtures' switch on
    with pytest.raises(ConfigError) as info:
        BackofficeClient(dataclasses.replace(b, insecure_http=False))
    assert "insecure_http" in str(info.value) and "in clear" in str(info.value)
    data = {"backoffice": {"url": "http://queue.city.example.jp", "ward": "kita",
                           "device_token_file": "t"},
            "store": {"path": "k.db", "key_file": "k.key"}}
    with pytest.raises(ConfigError) as info:
        parse_settings(data, "kiosk.toml", tmp_path)
    assert str(info.value).startswith("kiosk.toml: backoffice.url: ")
    assert "insecure_http = true" in str(info.value)
    data["backoffice"]["insecure_http"] = True
    assert parse_settings(data, "kiosk.toml", tmp_path).backoffice.insecure_http


def test_the_kiosk_app_stops_at_start_up_on_plain_http(tmp_path: Path) -> None:
    """`python -m kiosk` with a provisioned http:// back-office: a clear error, exit 2."""
    config = tmp_path / "kiosk.toml"
    config.write_text((REPO / "config" / "kiosk.toml").read_text(encoding="utf-8").replace(
        'url = "https://queue.city.example.jp"', 'url = "http://127.0.0.1:9"').replace(
        'backend = "pcsc"', 'backend = "standin"').replace(
        "port = 9100", "port = 0"), encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "kiosk", "--config", str(config), "--window"],
                          cwd=REPO, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(REPO),
                               "SDL_VIDEODRIVER": "offscreen",
                               "KIVY_HOME": str(tmp_path / "kivy")})
    assert done.returncode == 2, done.stderr[-2000:]
    assert (f"the kiosk cannot start: {config}: backoffice.url: 'http://127.0.0.1:9' "
            "is plain http://") in done.stderr


def test_the_cashless_client_pins_the_same_ca(tmp_path: Path) -> None:
    """The payment screen's client carries the device token too: it trusts the same
    pinned CA as the link (it used the system trust store before)."""
    from kiosk.ui.adapters import cashless_payment
    from kiosk.ui.settings import UiConfig

    ca = tmp_path / "ward-ca.pem"
    ca.write_text("pinned\n")
    (tmp_path / "device-token").write_text("dv_test\n")
    text = (REPO / "config" / "kiosk.toml").read_text(encoding="utf-8")
    text = text.replace('device_token_file = "/etc/ward-kiosk/device-token"',
                        f'device_token_file = "{tmp_path / "device-token"}"')
    text = text.replace('ca_bundle = ""', f'ca_bundle = "{ca}"')
    config = tmp_path / "kiosk.toml"
    config.write_text(text, encoding="utf-8")
    payment = cashless_payment(UiConfig.load(config))
    assert payment.client.session.verify == str(ca)
