"""Accounts (issue 15, items 1 and 8), through the real server on SQLite and PostgreSQL:
a ward's admin manages only its ward's staff and supervisors, creating never overwrites,
resets / disables / token rotations are their own audited actions ending the sessions or
the old token; idle sessions end; ended sessions are purged."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import timedelta

import pytest
import requests
from sqlalchemy import select, update

from tests.backoffice.accounts import bearer, create_account, device_id, login_from, sign_in
from tests.backoffice.conftest import ok
from tests.support.backoffice import REPO


@pytest.fixture(params=["sqlite", "postgres"])
def any_db_server(request, backoffice_factory):
    return backoffice_factory.start(None if request.param == "sqlite" else "postgres")


def _engine(server):
    from kiosk.backoffice.db import make_engine

    return make_engine(server.db_url, pool_size=1)


def test_a_ward_admin_cannot_take_over_the_city(any_db_server):
    server = any_db_server
    kita_admin = sign_in(server, "admin-kita",
                         create_account(server, "admin-kita", "admin", "kita"))
    post = lambda body: kita_admin.post(server.api("/admin/staff"), json=body, timeout=30)  # noqa: E731

    # the live exploit: re-create the city admin with a new password
    r = post({"username": "admin", "role": "admin"})
    assert r.status_code == 403, r.text
    r = post({"username": "admin", "role": "staff", "ward": "kita"})  # a name that is taken
    assert r.status_code == 409 and r.json()["error"] == "already_exists", r.text
    assert login_from(server, "admin", server.passwords["admin"]).status == 200
    # no admin, central or city-wide account, nothing in another ward
    for body in ({"username": "x-admin", "role": "admin", "ward": "kita"},
                 {"username": "x-central", "role": "central"},
                 {"username": "x-city", "role": "supervisor"},
                 {"username": "x-naka", "role": "staff", "ward": "naka"}):
        assert post(body).status_code == 403, body
    assert ok(post({"username": "kita-clerk", "role": "staff", "ward": "kita"}), 201)
    assert ok(post({"username": "kita-lead", "role": "supervisor", "ward": "kita"}), 201)
    # resets and disables only inside its own ward, never of an admin
    for target in ("admin", "supervisor", "admin-kita"):
        for action in ("reset-password", "disable"):
            r = kita_admin.post(server.api(f"/admin/staff/{target}/{action}"), timeout=30)
            assert r.status_code in (403, 409), (target, action, r.text)
    assert login_from(server, "supervisor", server.passwords["supervisor"]).status == 200
    # it sees its own ward's accounts only
    listed = ok(kita_admin.get(server.api("/admin/staff"), timeout=30))
    assert {a["ward"] for a in listed} == {"kita"} and "admin" not in {a["username"]
                                                                        for a in listed}

    # devices: another ward's are out of reach; an existing name is never re-keyed
    naka_kiosk = device_id(server, "kiosk-naka-1")
    for method, path, body in (
            ("POST", "/admin/devices", {"name": "kiosk-naka-9", "kind": "kiosk", "ward": "naka"}),
            ("POST", f"/admin/devices/{naka_kiosk}/rotate-token", None),
            ("DELETE", f"/admin/devices/{naka_kiosk}", None)):
        r = kita_admin.request(method, server.api(path), json=body, timeout=30)
        assert r.status_code == 403, (method, path, r.text)
    r = kita_admin.post(server.api("/admin/devices"), timeout=30,
                        json={"name": "kiosk-naka-1", "kind": "kiosk", "ward": "kita"})
    assert r.status_code == 409, r.text
    r = server.session("admin").post(server.api("/admin/devices"), timeout=30,
                                     json={"name": "kiosk-naka-1", "kind": "kiosk",
                                           "ward": "naka"})
    assert r.status_code == 409, r.text  # not even the city-wide admin overwrites
    naka_token = server.device_tokens[("kiosk", "naka")]
    assert bearer(naka_token).get(server.api("/device/config"), timeout=30).status_code == 200


def test_resets_end_sessions_and_old_tokens_and_are_audited(any_db_server):
    server = any_db_server
    kita_admin = sign_in(server, "admin-kita",
                         create_account(server, "admin-kita", "admin", "kita"))
    old_password = server.passwords["staff"]
    clerk = sign_in(server, "staff", old_password)
    assert clerk.get(server.api("/auth/me"), timeout=30).status_code == 200
    r = ok(kita_admin.post(server.api("/admin/staff/staff/reset-password"), timeout=30))
    assert r["sessions_ended"] >= 1 and len(r["password"]) >= 12
    assert clerk.get(server.api("/auth/me"), timeout=30).status_code == 401
    assert login_from(server, "staff", old_password).status == 401
    assert login_from(server, "staff", r["password"]).status == 200
    given = "a-new-long-password-1"
    r = ok(kita_admin.post(server.api("/admin/staff/staff/reset-password"), timeout=30,
                           json={"password": given}))
    assert "password" not in r  # given by the admin: not echoed
    assert login_from(server, "staff", given).status == 200

    kiosk_id = device_id(server, "kiosk-kita-1")
    old_token = server.device_tokens[("kiosk", "kita")]
    rotated = ok(kita_admin.post(server.api(f"/admin/devices/{kiosk_id}/rotate-token"),
                                 timeout=30))
    assert rotated["name"] == "kiosk-kita-1" and rotated["token"] != old_token
    assert bearer(old_token).get(server.api("/device/config"), timeout=30).status_code == 401
    new_kiosk = bearer(rotated["token"])
    assert new_kiosk.get(server.api("/device/config"), timeout=30).status_code == 200
    assert kita_admin.delete(server.api(f"/admin/devices/{kiosk_id}"),
                             timeout=30).status_code == 204
    assert new_kiosk.get(server.api("/device/config"), timeout=30).status_code == 401

    trail = ok(kita_admin.get(server.api("/admin/account-events"), timeout=30))
    seen = {(e["action"], e["target"], e["actor"]) for e in trail}
    assert {("staff.password_reset", "staff", "admin-kita"),
            ("device.token_rotated", "kiosk-kita-1", "admin-kita"),
            ("device.revoked", "kiosk-kita-1", "admin-kita")} <= seen
    assert all(e["ward"] == "kita" for e in trail)  # its own ward's trail only
    city = ok(server.session("admin").get(server.api("/admin/account-events"), timeout=30))
    assert ("staff.created", "admin-kita", "admin") in {
        (e["action"], e["target"], e["actor"]) for e in city}
    assert given not in str(city) and "dv_" not in str(city)  # never a secret


def test_disable_ends_sessions_and_sign_in_enable_restores(any_db_server):
    server = any_db_server
    password = create_account(server, "sato", "staff", "kita")
    sato = sign_in(server, "sato", password)
    admin = server.session("admin")
    r = ok(admin.post(server.api("/admin/staff/sato/disable"), timeout=30))
    assert r == {"username": "sato", "active": False, "sessions_ended": 1}
    assert sato.get(server.api("/auth/me"), timeout=30).status_code == 401
    answer = login_from(server, "sato", password)
    assert answer.status == 401 and answer.body["error"] == "bad_credentials"  # says nothing more
    listed = {a["username"]: a for a in ok(admin.get(server.api("/admin/staff"), timeout=30))}
    assert listed["sato"]["active"] is False
    assert ok(admin.post(server.api("/admin/staff/sato/enable"), timeout=30))["active"] is True
    assert login_from(server, "sato", password).status == 200
    r = admin.post(server.api("/admin/staff/admin/disable"), timeout=30)
    assert r.status_code == 409  # never locks itself out
    assert admin.post(server.api("/admin/staff/nobody-here/disable"),
                      timeout=30).status_code == 404


def test_idle_sessions_end_and_last_use_is_written_at_most_once_a_minute(backoffice_factory):
    from kiosk.backoffice import models as m
    from kiosk.backoffice.auth import hash_token
    from kiosk.backoffice.clock import utcnow

    server = backoffice_factory.start(config={"security": {"token_cache_seconds": 0,
                                                           "idle_minutes": 30}})
    token = server.login("staff")
    key = hash_token(token)
    s = m.sessions
    engine = _engine(server)

    def set_last_seen(ago: timedelta) -> None:
        with engine.begin() as conn:
            conn.execute(update(s).where(s.c.token_hash == key).values(last_seen=utcnow() - ago))

    def last_seen():
        with engine.connect() as conn:
            return conn.execute(select(s.c.last_seen).where(s.c.token_hash == key)).scalar_one()

    me = lambda: bearer(token).get(server.api("/auth/me"), timeout=30).status_code  # noqa: E731
    try:
        set_last_seen(timedelta(seconds=30))
        before = last_seen()
        assert me() == 200 and last_seen() == before  # used within the minute: no write
        set_last_seen(timedelta(minutes=29))
        assert me() == 200
        assert utcnow() - last_seen() < timedelta(seconds=30)  # written: the session lives on
        set_last_seen(timedelta(minutes=31))
        assert me() == 401  # idle for longer than [security] idle_minutes
    finally:
        engine.dispose()


def test_ended_sessions_are_purged_by_the_servers_periodic_purge(backoffice_factory):
    from kiosk.backoffice import models as m
    from kiosk.backoffice.auth import hash_token

    server = backoffice_factory.start(config={"retention": {"check_seconds": 1}})
    ended = server.login("staff")
    live = server.login("supervisor")
    assert requests.post(server.api("/auth/logout"), timeout=30,
                         headers={"Authorization": f"Bearer {ended}"}).status_code == 204
    engine = _engine(server)
    s = m.sessions
    try:
        deadline = time.monotonic() + 15
        while True:
            with engine.connect() as conn:
                keys = set(conn.execute(select(s.c.token_hash)).scalars())
            if hash_token(ended) not in keys or time.monotonic() > deadline:
                break
            time.sleep(0.3)
        assert hash_token(ended) not in keys and hash_token(live) in keys
    finally:
        engine.dispose()


def test_command_line_creates_never_overwrites_and_resets_explicitly(backoffice):
    def cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "kiosk.backoffice", *args,
                               "--db", backoffice.db_url], cwd=REPO, input=stdin,
                              capture_output=True, text=True, timeout=120)

    taken = cli("create-staff", "--username", "admin", "--role", "admin", "--password-stdin",
                stdin="overwritten-password-1\n")
    assert taken.returncode == 1 and "reset-password" in taken.stderr
    assert login_from(backoffice, "admin", backoffice.passwords["admin"]).status == 200
    reset = cli("reset-password", "--username", "admin", "--password-stdin",
                stdin="explicitly-reset-1\n")
    assert reset.returncode == 0, reset.stderr
    assert login_from(backoffice, "admin", "explicitly-reset-1").status == 200
    assert login_from(backoffice, "admin", backoffice.passwords["admin"]).status == 401
    taken = cli("create-device", "--name", "kiosk-kita-1", "--kind", "kiosk", "--ward", "kita")
    assert taken.returncode == 1 and "rotate-device-token" in taken.stderr
    old = backoffice.kiosk_token
    rotated = cli("rotate-device-token", "--name", "kiosk-kita-1")
    assert rotated.returncode == 0 and "new token: dv_" in rotated.stdout
    time.sleep(backoffice_token_cache_seconds())
    assert bearer(old).get(backoffice.api("/device/config"), timeout=30).status_code == 401


def backoffice_token_cache_seconds() -> float:
    """Another process changed the token: the server trusts its cache this long."""
    from kiosk.backoffice.config import load_settings

    return load_settings().security.token_cache_seconds + 0.5


def test_resetting_ones_own_password_ends_only_ones_other_sessions(backoffice):
    server = backoffice
    here = sign_in(server, "admin", server.passwords["admin"])
    elsewhere = sign_in(server, "admin", server.passwords["admin"])
    for path, body in (("/admin/staff/admin/reset-password", {"password": "short-11chr"}),
                       ("/admin/staff", {"username": "kato", "role": "staff",
                                         "password": "short-11chr"})):
        assert here.post(server.api(path), json=body, timeout=30).status_code == 422
    r = ok(here.post(server.api("/admin/staff/admin/reset-password"), timeout=30))
    assert r["sessions_ended"] >= 1
    assert here.get(server.api("/auth/me"), timeout=30).status_code == 200
    assert elsewhere.get(server.api("/auth/me"), timeout=30).status_code == 401
    assert login_from(server, "admin", r["password"]).status == 200
