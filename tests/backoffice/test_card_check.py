"""The card check travels with the application: the back-office accepts the result and
the key that opened the card (`authenticity`, `card_key`), refuses junk with a clear 422,
and the counter console shows it — flagged unless genuine — on the application view."""

from __future__ import annotations

from tests.backoffice.conftest import APPLICATION, issue, ok

CARD_B = {**APPLICATION, "card_key": "code_b", "authenticity": "not_verifiable"}


def test_junk_card_check_fields_are_refused(server):
    before = ok(issue(server), 201)
    for bad, field in [({"authenticity": "maybe"}, "authenticity"),
                       ({"authenticity": 1}, "authenticity"),
                       ({"card_key": "face"}, "card_key"),
                       ({"card_key": ["pin"]}, "card_key"),
                       ({"identity": "typed", "card_key": "pin"}, "card_key")]:
        r = issue(server, procedure="juminhyo", application={**CARD_B, **bad})
        assert r.status_code == 422, (bad, r.text)
        assert r.json()["error"] == "invalid_application"
        assert r.json()["details"]["field"] == field
    after = ok(issue(server), 201)
    assert int(after["number"][2:]) == int(before["number"][2:]) + 1   # nothing burned


def test_console_shows_the_card_check_flagged(server):
    t = ok(issue(server, procedure="juminhyo", application=CARD_B), 201)
    staff = server.session("staff")
    stored = ok(staff.get(server.api(f"/tickets/{t['id']}"), timeout=10))["application"]
    assert stored["card_key"] == "code_b" and stored["authenticity"] == "not_verifiable"
    page = ok(staff.get(f"{server.url}/web/tickets/{t['id']}/application", timeout=30))
    check = next(s for s in page["sections"] if s["heading"] == "カードの確認")
    rows = {r["key"]: r for r in check["rows"]}
    assert "照合番号B" in rows["card_key"]["value"] and not rows["card_key"].get("flag")
    assert rows["card_check"]["flag"] and rows["card_check"]["value"].startswith("要確認")
    identity = next(r for sec in page["sections"] for r in sec["rows"]
                    if r.get("key") == "identity")
    assert "照合番号B" in identity["value"]   # the printed form says so too (not "PIN")
    en = ok(staff.get(f"{server.url}/web/tickets/{t['id']}/application?lang=en", timeout=30))
    check = next(s for s in en["sections"] if s["heading"] == "Card check")
    assert [r["value"] for r in check["rows"]] == [
        "check number B (birth date, expiry year, security code) — no PIN",
        "CHECK — the signature could not be verified. Look at the card itself"]

    genuine = ok(issue(server, procedure="juminhyo",
                       application={**APPLICATION, "card_key": "pin",
                                    "authenticity": "genuine"}), 201)
    page = ok(staff.get(f"{server.url}/web/tickets/{genuine['id']}/application", timeout=30))
    check = next(s for s in page["sections"] if s["heading"] == "カードの確認")
    assert not any(r.get("flag") for r in check["rows"])
