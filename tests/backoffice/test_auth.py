"""Every endpoint declares who may call it: the wrong caller is refused (401 / 403)."""

from __future__ import annotations

import uuid

import requests

from tests.backoffice.conftest import issue, ok

CALLERS = ("anon", "kiosk", "display", "staff", "supervisor", "admin")
STAFF_UP = {"staff", "supervisor", "admin"}
SUP_UP = {"supervisor", "admin"}


def _session(server, who):
    if who == "anon":
        return requests.Session()
    return server.session(who)


def _matrix(t):
    tid = t["id"]
    return [
        ("GET", "/auth/me", None, STAFF_UP | {"kiosk", "display"}),
        ("GET", "/catalog", None, set(CALLERS)),
        ("GET", "/wards", None, set(CALLERS)),
        ("GET", "/wards/kita/estimates", None, set(CALLERS)),
        ("GET", "/device/config", None, {"kiosk", "display"}),
        ("POST", "/device/heartbeat", {"status": "ok"}, {"kiosk", "display"}),
        ("GET", "/devices", None, SUP_UP),
        ("POST", "/tickets", {"service": "certificates", "ward": "kita"}, STAFF_UP | {"kiosk"}),
        ("GET", f"/tickets/{tid}", None, STAFF_UP),  # kiosks read no application data
        ("GET", f"/tickets/{tid}/events", None, STAFF_UP),
        ("POST", f"/tickets/{tid}/hold", {}, STAFF_UP),
        ("POST", f"/tickets/{tid}/transfer", {"service": "moving"}, STAFF_UP),
        ("POST", "/wards/kita/counters/5/open", None, STAFF_UP),
        ("POST", "/number-blocks", {"service": "moving", "day": "2000-01-01", "size": 1},
         {"kiosk"}),
        ("GET", "/wards/kita/queue", None, STAFF_UP | {"kiosk", "display"}),
        ("GET", "/overview", None, SUP_UP),
        ("PUT", "/wards/naka/state", {"state": "auto"}, SUP_UP),
        ("GET", "/admin/staff", None, {"admin"}),
        ("POST", "/admin/devices", {"name": "d", "kind": "x", "ward": "kita"}, {"admin"}),
    ]


def test_who_may_call_what(server):
    t = ok(issue(server), 201)
    for method, path, body, allowed in _matrix(t):
        for who in CALLERS:
            r = _session(server, who).request(
                method, server.api(path), json=body, timeout=10,
                headers={"Idempotency-Key": uuid.uuid4().hex})
            if who in allowed:
                assert r.status_code not in (401, 403), (method, path, who, r.text)
            else:
                expected = 401 if who == "anon" else 403
                assert r.status_code == expected, (method, path, who, r.status_code, r.text)
                assert r.json()["error"] in ("unauthorized", "forbidden")


def test_ward_bound_staff_and_devices_stay_in_their_ward(server):
    s = server.session("staff")  # bound to kita
    for path in ("/wards/naka/queue", "/wards/naka/counters/1/open"):
        r = s.request("GET" if path.endswith("queue") else "POST", server.api(path))
        assert r.status_code == 403 and "kita" in r.json()["message"]
    naka_ticket = issue(server, "supervisor", ward="naka").json()
    assert s.post(server.api(f"/tickets/{naka_ticket['id']}/hold")).status_code == 403
    assert ok(server.session("supervisor").get(server.api("/wards/naka/queue")))
    display_naka = requests.Session()
    display_naka.headers["Authorization"] = "Bearer " + server.device_tokens[("display", "naka")]
    assert display_naka.get(server.api("/wards/kita/queue")).status_code == 403


def test_sessions_cookie_logout_and_no_default_passwords(server):
    for user, password in (("admin", "admin"), ("admin", "password"), ("staff", "")):
        r = requests.post(server.api("/auth/login"), json={"username": user,
                                                           "password": password})
        assert r.status_code in (401, 422)
    browser = requests.Session()
    r = browser.post(server.api("/auth/login"), json={"username": "supervisor",
                                                      "password": server.passwords["supervisor"]})
    body = ok(r)
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    assert ok(browser.get(server.api("/auth/me")))["role"] == "supervisor"  # cookie alone
    # a browser's POST carries its page's Origin (csrf.py refuses a cookie without it)
    assert browser.post(server.api("/auth/logout"),
                        headers={"Origin": server.url}).status_code == 204
    bearer = requests.Session()
    bearer.headers["Authorization"] = f"Bearer {body['token']}"
    assert bearer.get(server.api("/auth/me")).status_code == 401
    assert requests.get(server.api("/auth/me"), headers={
        "Authorization": "Bearer st_" + "A" * 43}).status_code == 401


def test_failed_logins_are_rate_limited(server):
    who = "nobody-" + uuid.uuid4().hex[:6]  # a name no other test's failures count against
    codes = [requests.post(server.api("/auth/login"), timeout=10,
                           json={"username": who, "password": "wrong-guess-123"}).status_code
             for _ in range(7)]
    assert codes[:5] == [401] * 5 and codes[5:] == [429, 429]
    r = requests.post(server.api("/auth/login"), json={"username": who, "password": "x"})
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
    assert r.json()["error"] == "rate_limited"
