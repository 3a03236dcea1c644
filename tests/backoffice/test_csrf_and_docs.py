"""Browser-side protections (issue 15, item 15): a signed-in browser's state-changing
request must come from this server's own pages (Origin / Sec-Fetch-Site), not only rely on
SameSite; the API map (/docs, /redoc, /openapi.json) is off unless configured."""

from __future__ import annotations

import requests

from tests.backoffice.conftest import issue, ok

EVIL = "http://evil.example"


def _browser(server, who="staff"):
    """A browser session: only the HttpOnly cookie, as a page would have it."""
    s = requests.Session()
    ok(s.post(server.api("/auth/login"), headers={"Origin": server.url}, timeout=30,
              json={"username": who, "password": server.passwords[who]}))
    return s


def _status(server, ticket_id):
    return ok(server.session("supervisor").get(server.api(f"/tickets/{ticket_id}"),
                                               timeout=30))["status"]


def test_cross_site_posts_with_the_session_cookie_are_refused(server):
    browser = _browser(server)
    ticket = ok(issue(server), 201)
    hold = server.api(f"/tickets/{ticket['id']}/hold")  # an empty-body POST
    for headers in ({"Origin": EVIL}, {"Origin": "null"}, {"Sec-Fetch-Site": "cross-site"},
                    {"Sec-Fetch-Site": "same-site"}, {}):
        r = browser.post(hold, headers=headers, timeout=30)
        assert r.status_code == 403 and r.json()["error"] == "cross_site_refused", (headers,
                                                                                    r.text)
        assert _status(server, ticket["id"]) == "waiting"
    r = browser.post(server.url + "/web/central/logout", headers={"Origin": EVIL},
                     allow_redirects=False, timeout=30)
    assert r.status_code == 403
    assert browser.get(server.api("/auth/me"), timeout=30).status_code == 200  # still signed in
    # the same requests from the server's own pages pass
    assert ok(browser.post(hold, headers={"Origin": server.url}, timeout=30))
    assert _status(server, ticket["id"]) == "held"
    r = browser.post(server.api(f"/tickets/{ticket['id']}/resume"), timeout=30,
                     headers={"Sec-Fetch-Site": "same-origin"})
    assert r.status_code == 200, r.text


def test_sign_in_from_another_site_is_refused_and_bearer_clients_are_unaffected(server):
    r = requests.post(server.api("/auth/login"), headers={"Origin": EVIL}, timeout=30,
                      json={"username": "staff", "password": server.passwords["staff"]})
    assert r.status_code == 403 and "set-cookie" not in r.headers
    assert ok(issue(server), 201)  # a kiosk: bearer token, no Origin
    staff = server.session("staff")
    staff.cookies.set("ward_session", "st_whatever")
    assert ok(staff.post(server.api("/wards/kita/counters/1/open"), timeout=30))


def test_api_docs_are_off_unless_configured(backoffice_factory, tmp_path):
    from devtools.demo import Demo, demo_config
    from kiosk.backoffice.config import load_settings

    assert load_settings().security.api_docs is False  # config/backoffice.toml, production
    assert load_settings(demo_config(Demo(var_dir=tmp_path))).security.api_docs is True
    server = backoffice_factory.start(config={"security": {"api_docs": False}})
    for path in ("/docs", "/redoc", "/openapi.json", "/docs/oauth2-redirect"):
        assert requests.get(server.url + path, timeout=30).status_code == 404, path
    on = backoffice_factory.start(config={"security": {"api_docs": True}})
    assert ok(requests.get(on.url + "/openapi.json", timeout=30))["paths"]
    assert requests.get(on.url + "/docs", timeout=30).status_code == 200
