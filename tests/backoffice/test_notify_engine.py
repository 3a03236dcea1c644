"""Notifications without HTTP (engine/notify.py, webpush.py, config_notify.py): the RFC 8291
test vector, VAPID checked by the push stand-in, the [notify] settings' refusals, and the
outbox's rules on SQLite and PostgreSQL — once-only notices, bounded retries with a
doubling wait, a gone subscription dropped, the purge."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from hardware.push_service import PushService
from kiosk.backoffice import models as m
from kiosk.backoffice import webpush
from kiosk.backoffice.clock import utcnow
from kiosk.backoffice.config import Settings
from kiosk.backoffice.engine import actions, notify
from kiosk.backoffice.engine.errors import EngineError
from kiosk.domain.errors import ConfigError
from tests.backoffice.conftest import admin, new_ticket

# RFC 8291 Appendix A, byte for byte.
RFC = {"plaintext": b"When I grow up, I want to be a watermelon",
       "as_private": "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw",
       "ua_public": "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8p"
                    "ZGH6SRpkNtoIAiw4",
       "auth": "BTBZMqHH6r4Tts7J_aSIgg", "salt": "DGv6ra1nlYgDCS1FRnbzlw",
       "body": "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3"
               "vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuw"
               "XPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN"}


def test_encryption_matches_the_rfc_8291_example() -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.derive_private_key(int.from_bytes(webpush.unb64u(RFC["as_private"]), "big"),
                                ec.SECP256R1())
    body = webpush.encrypt(RFC["plaintext"], webpush.unb64u(RFC["ua_public"]),
                           webpush.unb64u(RFC["auth"]), as_private=key,
                           salt=webpush.unb64u(RFC["salt"]))
    assert webpush.b64u(body) == RFC["body"]


def test_the_push_stand_in_checks_vapid_and_decrypts(tmp_path: Path) -> None:
    pem, public = webpush.new_key_pem()
    (tmp_path / "k.pem").write_bytes(pem)
    vapid = webpush.Vapid.from_file(str(tmp_path / "k.pem"), "mailto:ward@example.org")
    assert vapid.public_key == public
    other_pem, other_public = webpush.new_key_pem()
    service = PushService().start()
    try:
        sub = service.subscribe(public)
        keys = sub.to_json()["keys"]
        assert webpush.send(vapid, sub.endpoint, keys["p256dh"], keys["auth"], {"a": "あ"},
                            ttl=60, timeout=5) == 201
        assert service.messages(sub) == [{"a": "あ"}]
        stranger = service.subscribe(other_public)   # made with another server's key
        with pytest.raises(webpush.PushFailed) as failed:
            webpush.send(vapid, stranger.endpoint, keys["p256dh"], keys["auth"], {},
                         ttl=60, timeout=5)
        assert not failed.value.retry and service.refused[-1][0] == 403
        service.fail_next(503, 1)
        with pytest.raises(webpush.PushFailed) as failed:
            webpush.send(vapid, sub.endpoint, keys["p256dh"], keys["auth"], {}, ttl=60,
                         timeout=5)
        assert failed.value.retry
        service.expire(sub)
        with pytest.raises(webpush.PushGone):
            webpush.send(vapid, sub.endpoint, keys["p256dh"], keys["auth"], {}, ttl=60,
                         timeout=5)
    finally:
        service.close()
    assert other_pem != pem


@pytest.mark.parametrize("section, key", [
    ({"push_services": ["ftp://x/"]}, "push_services"),
    ({"push_services": ["https://fcm.googleapis.com"]}, "push_services"),
    ({"vapid_subject": "ward@example.org"}, "vapid_subject"),
    ({"ahead": 0}, "ahead"),
    ({"max_attempts": 0}, "max_attempts"),
    ({"smtp": {"sender": "nobody"}}, "smtp.sender"),
    ({"smtp": {"port": 0}}, "smtp.port"),
    ({"smpt": {}}, "smpt"),
])
def test_bad_notify_settings_are_refused_by_name(section: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError) as err:
        Settings.from_mapping({"notify": section})
    assert f"notify.{key}" in str(err.value)


@pytest.fixture
def nbo(bo: Any, tmp_path: Path) -> Any:
    """The engine's context with push and e-mail on (nothing is delivered here)."""
    pem, _public = webpush.new_key_pem()
    (tmp_path / "v.pem").write_bytes(pem)
    n = bo.settings.notify
    bo.settings = replace(bo.settings, notify=replace(
        n, vapid_private_key=str(tmp_path / "v.pem"), push_services=("http://127.0.0.1:9/",),
        max_attempts=3, backoff_seconds=2.0, smtp=replace(n.smtp, host="127.0.0.1")))
    return bo


def _rows(bo: Any) -> list[Any]:
    """The outbox rows of the certificates queue (the test's other queue has its own)."""
    with bo.engine.connect() as conn:
        return [r for r in conn.execute(select(m.notify_outbox).order_by(m.notify_outbox.c.id))
                if r.data.get("service") == "certificates"]


KEYS = {"p256dh": webpush.b64u(b"\x04" + bytes(64)), "auth": webpush.b64u(bytes(16))}


def _good_keys() -> dict[str, str]:
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    return {"p256dh": webpush.b64u(webpush.public_bytes(key)), "auth": webpush.b64u(bytes(16))}


def test_once_only_notices_retries_and_purge(nbo: Any) -> None:
    bo = nbo
    tickets = [new_ticket(bo) for _ in range(5)]
    mine = tickets[4]
    token = mine["status_token"]
    with pytest.raises(EngineError):     # not a P-256 point
        notify.subscribe(bo, token, "push", "http://127.0.0.1:9/p/1", "en", **KEYS)
    notify.subscribe(bo, token, "push", "http://127.0.0.1:9/p/1", "en", **_good_keys())
    notify.subscribe(bo, token, "email", "r@example.org", "ja")
    notify.subscribe(bo, token, "email", "r@example.org", "ja")      # the same: replaced
    others = [new_ticket(bo, "moving") for _ in range(2)]
    for i in range(notify.MAX_PER_TICKET):
        notify.subscribe(bo, others[0]["status_token"], "email", f"x{i}@example.org", "ja")
    with pytest.raises(EngineError) as many:
        notify.subscribe(bo, others[0]["status_token"], "email", "y@example.org", "ja")
    assert many.value.code == "too_many_subscriptions"
    notify.unsubscribe(bo, others[0]["status_token"], "email")
    assert _rows(bo) == []               # four ahead: more than [notify] ahead = 3
    actions.call_next(bo, admin(), "kita", 1, "")
    rows = _rows(bo)
    assert sorted((r.kind, r.channel, r.data["n"]) for r in rows) == [
        ("ahead", "email", 3), ("ahead", "push", 3)]
    assert set(rows[0].data) == {"number", "ward", "service", "n"}  # numbers only
    actions.act(bo, admin(), tickets[0]["id"], "start")
    actions.act(bo, admin(), tickets[0]["id"], "complete")
    actions.call_next(bo, admin(), "kita", 1, "")                 # 2 ahead: no second one
    assert len(_rows(bo)) == 2

    # bounded retries with a doubling wait, then given up
    t0 = utcnow()
    due = notify.claim_due(bo, now=t0)
    assert len(due) == 2 and notify.claim_due(bo, now=t0) == []   # claimed once
    push = next(r for r in due if r.channel == "push")
    assert notify.finish(bo, push, "failed", "503", retry=True, now=t0) == "retry"
    [again] = [r for r in _rows(bo) if r.id == push.id]
    assert again.next_at == t0 + timedelta(seconds=2)
    [push] = notify.claim_due(bo, now=again.next_at)
    assert push.attempts == 2
    assert notify.finish(bo, push, "failed", "503", retry=True, now=again.next_at) == "retry"
    [later] = [r for r in _rows(bo) if r.id == push.id]
    assert later.next_at == again.next_at + timedelta(seconds=4)
    [push] = notify.claim_due(bo, now=later.next_at)
    assert notify.finish(bo, push, "failed", "503", retry=True) == "failed"   # 3 of 3
    mail = next(r for r in due if r.channel == "email")
    assert notify.finish(bo, mail, "sent") == "sent"
    assert notify.counts(bo, "kita")["failed"]["push"] == 1

    # a gone push subscription is deleted; its later notices are never made
    actions.act(bo, admin(), tickets[1]["id"], "start")
    actions.act(bo, admin(), tickets[1]["id"], "complete")
    actions.act(bo, admin(), tickets[2]["id"], "call", counter=2)
    actions.act(bo, admin(), tickets[2]["id"], "start")
    actions.act(bo, admin(), tickets[2]["id"], "complete")
    actions.act(bo, admin(), tickets[3]["id"], "call", counter=2)
    actions.act(bo, admin(), mine["id"], "call", counter=1)
    called = [r for r in _rows(bo) if r.kind == "called"]
    assert sorted(r.channel for r in called) == ["email", "push"]
    assert called[0].data["counter"] == 1
    claimed = notify.claim_due(bo)
    push = next(r for r in claimed if r.channel == "push")
    assert notify.finish(bo, push, "gone", "410") == "dropped"
    for r in claimed:
        if r.channel == "email":
            notify.finish(bo, r, "sent")
    assert notify.state(bo, token)["push"] is False
    actions.act(bo, admin(), mine["id"], "recall")
    assert [r.channel for r in _rows(bo) if r.kind == "called"].count("push") == 1

    # purge: nothing while a row is pending; the address goes once the ticket ended
    actions.act(bo, admin(), mine["id"], "start")
    actions.act(bo, admin(), mine["id"], "complete")
    assert notify.purge(bo) == 0
    for r in notify.claim_due(bo):
        notify.finish(bo, r, "sent")
    assert notify.purge(bo) == 1
    assert notify.state(bo, token)["email"] is False
    with pytest.raises(EngineError):     # an ended ticket takes no new opt-in
        notify.subscribe(bo, token, "email", "r@example.org", "ja")


def test_vapid_keys_command_writes_a_private_file_once(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    import json
    import stat

    from kiosk.backoffice.__main__ import main

    out = tmp_path / "keys" / "vapid.pem"
    assert main(["vapid-keys", "--out", str(out)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    vapid = webpush.Vapid.from_file(str(out), "mailto:ward@example.org")
    assert printed["public_key"] == vapid.public_key
    before = out.read_bytes()
    assert main(["vapid-keys", "--out", str(out)]) == 2   # subscriptions are bound to it
    assert out.read_bytes() == before
