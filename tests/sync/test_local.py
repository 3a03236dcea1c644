"""The sync package's local parts, without a back-office: settings, sealing, the store,
offline number blocks, the client's retries, and offline issuing."""

from __future__ import annotations

import http.server
import random
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from kiosk.domain.errors import ConfigError
from kiosk.sync import KioskLink, NoOfflineNumbers, PrivacyError, blocks
from kiosk.sync.client import BackofficeClient, Rejected, Unreachable, backoff_delay
from kiosk.sync.sealing import Sealer, SealError, generate_key, load_key, refuse_my_number
from kiosk.sync.settings import load_settings, parse_settings
from kiosk.sync.store import Store, outbox
from tests.sync.helpers import dead_url, juminhyo, kokuho, send_json, serving, settings

# -- settings -------------------------------------------------------------------------


def test_repository_config_parses() -> None:
    s = load_settings()
    assert s.backoffice.url.startswith("http")
    assert s.store.synchronous == "NORMAL"


@pytest.mark.parametrize(("section", "key", "value", "words"), [
    ("backoffice", "url", "ftp://x", "must be an https:// URL"),
    ("backoffice", "read_timeout", "5", "must be a number"),
    ("backoffice", "timeout", 5, "unknown key"),
    ("store", "synchronous", "OFF", "must be one of"),
])
def test_bad_config_names_file_and_key(tmp_path: Path, section: str, key: str, value: object,
                                       words: str) -> None:
    data = {"backoffice": {"url": "https://h", "ward": "kita", "device_token_file": "t"},
            "store": {"path": "k.db", "key_file": "k.key"}}
    data[section][key] = value
    with pytest.raises(ConfigError) as info:
        parse_settings(data, "kiosk.toml", tmp_path)
    assert str(info.value).startswith(f"kiosk.toml: {section}.{key}: ")
    assert words in str(info.value)


def test_relative_paths_are_next_to_the_config(tmp_path: Path) -> None:
    data = {"backoffice": {"url": "https://h/", "ward": "kita", "device_token_file": "t",
                           "ca_bundle": "ca.pem"},
            "store": {"path": "k.db", "key_file": "k.key"}}
    s = parse_settings(data, "kiosk.toml", tmp_path)
    assert s.backoffice.url == "https://h"
    assert s.backoffice.ca_bundle == tmp_path / "ca.pem"
    assert s.store.path == tmp_path / "k.db"


# -- sealing and the 個人番号 ---------------------------------------------------------------


@pytest.mark.parametrize("text", ["123456789018", "１２３４５６７８９０１８", "1234 5678 9018",
                                  "番号は123456789018です"])
def test_a_my_number_never_enters_the_outbox(text: str) -> None:
    with pytest.raises(PrivacyError):
        refuse_my_number({"values": {"note": text}})


def test_masked_checks_and_ordinary_digits_pass() -> None:
    refuse_my_number(kokuho().to_dict())
    refuse_my_number({"address": "堺市北区新金岡町５丁１－１", "phone": "072-123-4567",
                      "postcode": "5918021", "masked": "********9018"})


def test_sealing_round_trip_and_binding(tmp_path: Path) -> None:
    key = load_key(generate_key(tmp_path / "k.key"))
    assert (tmp_path / "k.key").stat().st_mode & 0o777 == 0o600
    sealer = Sealer(key)
    blob = sealer.seal({"name": "山田\u3000花子"}, "ticket-1")
    assert "山田".encode() not in blob
    assert sealer.open(blob, "ticket-1") == {"name": "山田\u3000花子"}
    with pytest.raises(SealError):
        sealer.open(blob, "ticket-2")                      # bound to its message
    with pytest.raises(SealError):
        sealer.open(blob[:-1] + bytes([blob[-1] ^ 1]), "ticket-1")
    with pytest.raises(SealError):
        Sealer(bytes(32)).open(blob, "ticket-1")


def test_bad_key_file(tmp_path: Path) -> None:
    (tmp_path / "k.key").write_text("short")
    with pytest.raises(ConfigError) as info:
        load_key(tmp_path / "k.key")
    assert "keygen" in str(info.value)


# -- store and blocks -----------------------------------------------------------------


def test_store_is_wal_and_durable_writes_fsync(tmp_path: Path) -> None:
    store = Store(tmp_path / "k.db")
    with store.read() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1   # NORMAL
    with store.write(durable=True) as conn:
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2   # FULL
    with store.write() as conn:
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1
    store.flush_soon()
    assert store.integrity_ok()
    store.close()


def test_blocks_hand_out_each_number_once(tmp_path: Path) -> None:
    store = Store(tmp_path / "k.db")
    with store.write() as conn:
        blocks.add_block(conn, {"block_id": 7, "service": "certificates", "prefix": "A",
                                "day": "2026-11-24", "first": 41, "last": 43,
                                "numbers": ["A-041", "A-043"]})
        blocks.add_block(conn, {"block_id": 9, "service": "certificates", "prefix": "A",
                                "day": "2026-11-24", "first": 101, "last": 101,
                                "numbers": ["A-101", "A-101"]})
        assert blocks.left(conn, "2026-11-24") == {"certificates": 4}
        got = [blocks.take(conn, "certificates", "2026-11-24") for _ in range(5)]
    assert [g.text if g else None for g in got] == ["A-041", "A-042", "A-043", "A-101", None]
    assert got[3] is not None and got[3].block_id == "9"
    with store.write() as conn:
        assert blocks.take(conn, "certificates", "2026-11-25") is None
        assert blocks.forget_before(conn, "2026-11-25") == 2
    store.close()


# -- the client ---------------------------------------------------------------------------


def test_backoff_has_full_jitter_and_a_cap() -> None:
    rng = random.Random(1)
    delays = [backoff_delay(a, 0.2, 5.0, rng) for a in range(12) for _ in range(20)]
    assert all(0 <= d <= 5.0 for d in delays)
    assert max(backoff_delay(1, 0.2, 5.0, rng) for _ in range(200)) <= 0.4
    assert len({round(d, 6) for d in delays}) > 200          # jittered, not fixed steps


class _Script(http.server.BaseHTTPRequestHandler):
    answers: ClassVar[list[tuple[int, dict[str, object]]]] = []
    seen: ClassVar[list[dict[str, str]]] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        type(self).seen.append(dict(self.headers))
        status, body = type(self).answers.pop(0)
        send_json(self, status, body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def scripted() -> Iterator[type[_Script]]:
    handler = type("Handler", (_Script,), {"answers": [], "seen": []})
    with serving(handler) as url:
        handler.url = url  # type: ignore[attr-defined]
        yield handler


def test_client_retries_503_with_the_same_key(tmp_path: Path, scripted: type[_Script]) -> None:
    scripted.answers += [(503, {"error": "unavailable", "message": "busy"}), (201, {"id": 1})]
    s = settings(tmp_path, scripted.url)  # type: ignore[attr-defined]
    client = BackofficeClient(s.backoffice)
    assert client.post("/x", {}, idempotency_key="k-12345678", attempts=3) == {"id": 1}
    assert [h["Idempotency-Key"] for h in scripted.seen] == ["k-12345678"] * 2
    assert scripted.seen[0]["Authorization"] == "Bearer dv_test"


def test_client_does_not_retry_a_refusal(tmp_path: Path, scripted: type[_Script]) -> None:
    scripted.answers += [(422, {"error": "unknown_service", "message": "no such service"})]
    client = BackofficeClient(settings(tmp_path, scripted.url).backoffice)  # type: ignore[attr-defined]
    with pytest.raises(Rejected) as info:
        client.post("/x", {}, idempotency_key="k-12345678", attempts=3)
    assert (info.value.status, info.value.code) == (422, "unknown_service")
    assert len(scripted.seen) == 1


def test_client_knows_a_refused_connection_sent_nothing(tmp_path: Path) -> None:
    client = BackofficeClient(settings(tmp_path, dead_url()).backoffice)
    with pytest.raises(Unreachable) as info:
        client.post("/x", {}, idempotency_key="k-12345678", attempts=2)
    assert info.value.maybe_sent is False


def test_tls_is_verified_against_the_configured_ca(tmp_path: Path,
                                                   scripted: type[_Script]) -> None:
    import dataclasses
    import ssl

    from tests.sync.tlsca import make_ca_and_server
    ca, cert, key = make_ca_and_server(tmp_path)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), scripted)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"https://127.0.0.1:{server.server_address[1]}"
    try:
        b = settings(tmp_path, url).backoffice
        scripted.answers.append((200, {"ok": True}))
        trusted = BackofficeClient(dataclasses.replace(b, ca_bundle=ca))
        assert trusted.post("/x", {}) == {"ok": True}
        with pytest.raises(Unreachable) as info:       # the system store does not know it
            BackofficeClient(b).post("/x", {})
        assert "TLS" in str(info.value) and info.value.maybe_sent is False
    finally:
        server.shutdown()
        server.server_close()


# -- offline issuing without any back-office ----------------------------------------------


def _link_with_block(tmp_path: Path, size: int = 3) -> KioskLink:
    link = KioskLink(settings(tmp_path, dead_url()))
    with link.store.write() as conn:
        blocks.add_block(conn, {"block_id": 5, "service": "certificates", "prefix": "A",
                                "day": link.now().date().isoformat(), "first": 901,
                                "last": 900 + size, "numbers": ["A-901", f"A-{900 + size}"]})
    return link


def test_offline_ticket_is_quick_and_honest(tmp_path: Path) -> None:
    link = _link_with_block(tmp_path)
    t0 = time.monotonic()
    first = link.issue_ticket("certificates", "juminhyo", juminhyo())   # finds out it's offline
    second = link.issue_ticket("certificates", "juminhyo", juminhyo())
    assert time.monotonic() - t0 < 2 * link.settings.backoffice.issue_timeout
    assert (first.number, second.number) == ("A-901", "A-902")
    assert first.offline and first.wait_minutes is None and first.people_ahead is None
    assert not link.online and link.pending() == 2
    link.issue_ticket("certificates")
    with pytest.raises(NoOfflineNumbers):
        link.issue_ticket("certificates")
    assert link.pending() == 3           # the refused one left nothing behind
    link.stop()


def test_personal_data_is_encrypted_at_rest(tmp_path: Path) -> None:
    link = _link_with_block(tmp_path)
    link.issue_ticket("certificates", "juminhyo", juminhyo())
    link.stop()
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("kiosk.db*"))
    for secret in ("山田", "堺市", "1985-03-07"):
        assert secret.encode() not in raw
    rows = sqlite3.connect(tmp_path / "kiosk.db").execute(
        "SELECT payload, sealed FROM outbox").fetchall()
    assert rows and all(sealed for _, sealed in rows)
    assert all("application" not in payload for payload, _ in rows)


def test_privacy_error_issues_nothing(tmp_path: Path) -> None:
    link = _link_with_block(tmp_path)

    class Leaky:
        def to_dict(self) -> dict[str, object]:
            return {"procedure": "kokuho_kanyu", "values": {"my_number": "123456789018"}}

    with pytest.raises(PrivacyError):
        link.issue_ticket("insurance", "kokuho_kanyu", Leaky())  # type: ignore[arg-type]
    with link.store.read() as conn:
        assert conn.execute(outbox.select()).first() is None
    link.stop()


def test_opening_state_from_local_config(tmp_path: Path) -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo
    link = KioskLink(settings(tmp_path, dead_url()))
    tokyo = ZoneInfo("Asia/Tokyo")
    monday_morning = datetime(2026, 11, 23, 9, 0, tzinfo=tokyo)
    sunday = datetime(2026, 11, 22, 9, 0, tzinfo=tokyo)
    assert link.opening_state(monday_morning).open
    assert not link.opening_state(sunday).open
    assert link.opening_state(sunday).source == "config"
    assert link.wait_estimates() == {}
    link.stop()


def test_maintainer_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from kiosk.sync.__main__ import main
    assert main(["keygen", str(tmp_path / "k.key")]) == 0
    assert len(load_key(tmp_path / "k.key")) == 32
    assert main(["keygen", str(tmp_path / "k.key")]) == 1      # never overwrites a key
    config = tmp_path / "kiosk.toml"
    config.write_text('[backoffice]\nurl = "http://127.0.0.1:9"\ninsecure_http = true\n'
                      'ward = "kita"\n'
                      'device_token_file = "token"\n[store]\npath = "k.db"\n'
                      'key_file = "k.key"\n', encoding="utf-8")
    (tmp_path / "token").write_text("dv_x")
    assert main(["status", "--config", str(config)]) == 0
    assert "pending messages: 0" in capsys.readouterr().out
    config.write_text('[backoffice]\nurl = "x"\n', encoding="utf-8")
    assert main(["status", "--config", str(config)]) == 2
