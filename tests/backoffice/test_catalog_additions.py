"""Services and procedures added and removed, life events' questions and items' conditions
edited (issue #20, "Admin in the browser"): each a new catalog version validated by the
files' own code; a removal is refused (409, with the reason) while the service or
procedure is in use — a counter serves it, a procedure or life event refers to it, or
its tickets are open today."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import requests

from kiosk.backoffice import catalog_edits as edit
from kiosk.backoffice import catalog_versions as versions
from kiosk.domain.errors import ConfigError
from tests.backoffice.conftest import issue, ok
from tests.backoffice.test_catalog_versions import until

A = "/admin/catalog"
PETS = {"code": "pets", "prefix": "Q", "name": "ペットの登録", "target_wait_minutes": 15,
        "default_service_minutes": 6}
DOG = {"code": "dog_register", "service": "pets", "group": "other", "name": "犬の登録",
       "fee_yen": 3000, "fields": [
           {"key": "name", "label": "氏名", "kind": "name", "source": "card"},
           {"key": "dog_name", "label": "犬の名前", "kind": "text", "source": "resident"}]}


def event(data: dict[str, Any], code: str) -> dict[str, Any]:
    return next(e for e in data["life_events"]["events"] if e["code"] == code)


# --- without HTTP ------------------------------------------------------------------------

def test_adding_and_removing_are_checked_before_the_files_validation() -> None:
    data = versions.read_files()
    added = edit.add_table(edit.add_table(data, "services", PETS), "procedures", DOG)
    loaded = versions.validate(added)
    assert loaded.catalog.procedure("dog_register").service == "pets"
    assert versions.changes(data, added) == [
        "catalog.services.pets: added {…}", "catalog.procedures.dog_register: added {…}"]
    with pytest.raises(edit.Refused, match="already a service 'pets'"):
        edit.add_table(added, "services", PETS)
    with pytest.raises(ConfigError, match="prefix 'A' is used by both"):
        versions.validate(edit.add_table(data, "services", {**PETS, "prefix": "A"}))
    with pytest.raises(ConfigError, match="unknown service 'no-such'"):
        versions.validate(edit.add_table(data, "procedures", {**DOG, "service": "no-such"}))
    # a service its procedures belong to, or a counter serves, stays
    with pytest.raises(edit.Refused, match="procedures belong to 'pets'"):
        edit.remove_service(added, "pets")
    with pytest.raises(edit.Refused, match=r"counters serve 'certificates' \(kita 1"):
        edit.remove_service(data, "certificates")
    # one only offered by a ward (no counter) and named in the route goes with it
    offered = edit.set_ward_services(added, "kita", [*next(
        w for w in added["catalog"]["wards"] if w["code"] == "kita")["services"], "pets"])
    offered["life_events"]["route"].append("pets")
    gone = edit.remove_service(edit.remove_procedure(offered, "dog_register"), "pets")
    versions.validate(gone)
    assert gone["catalog"] == data["catalog"] and gone["life_events"] == data["life_events"]
    # a procedure a life event lists stays
    with pytest.raises(edit.Refused, match="life events list 'tennyu' \\(tennyu"):
        edit.remove_procedure(data, "tennyu")
    with pytest.raises(KeyError):
        edit.remove_procedure(data, "no-such")


def test_questions_and_conditions_are_validated_like_the_file() -> None:
    data = versions.read_files()
    tennyu = copy.deepcopy(event(data, "tennyu"))
    n = next(i for i, e in enumerate(data["life_events"]["events"]) if e["code"] == "tennyu")
    tennyu["questions"].append({"key": "car", "text": "車をお持ちですか", "kind": "yesno"})
    tennyu["items"][1]["when"] = [{"card_holders": "1人"}, {"car": "yes"}]
    tennyu["items"][1]["bring"] = ["車検証"]
    tennyu["items"][1]["note"] = "ご注意"
    changed = edit.put_life_event(data, "tennyu", tennyu)
    life = versions.validate(changed).life_events
    assert life is not None and life.event("tennyu").question("car").text == "車をお持ちですか"
    assert life.event("tennyu").items[1].when.holds({"car": "yes"})
    tennyu["items"][1]["when"] = {"boat": "yes"}
    with pytest.raises(ConfigError) as bad:
        versions.validate(edit.put_life_event(data, "tennyu", tennyu))
    assert bad.value.key == f"events[{n}].items[1].when.boat"
    assert "names no earlier question" in bad.value.problem
    tennyu["items"][1]["when"] = {"car": "maybe"}
    with pytest.raises(ConfigError, match="'maybe' is no answer of 'car'"):
        versions.validate(edit.put_life_event(data, "tennyu", tennyu))


# --- over HTTP ---------------------------------------------------------------------------

def served(server: Any) -> Any:
    return ok(requests.get(server.api("/catalog"), timeout=10))


def test_a_service_and_a_procedure_added_then_removed_when_unused(backoffice: Any) -> None:
    server = backoffice
    admin = server.session("admin")
    first = ok(admin.get(server.api(A)))["version"]
    r = admin.post(server.api(f"{A}/services"), json=PETS, timeout=10)
    saved = ok(r, 201)
    assert saved["changes"] == ["catalog.services.pets: added {…}"]
    assert admin.post(server.api(f"{A}/services"), json=PETS, timeout=10).json()["error"] \
        == "already_exists"
    r = admin.post(server.api(f"{A}/services"), json={**PETS, "code": "x", "prefix": "a"},
                   timeout=10)
    assert r.status_code == 422 and "upper-case letter" in r.json()["message"]
    ok(admin.post(server.api(f"{A}/procedures"), json=DOG, timeout=10), 201)
    r = admin.post(server.api(f"{A}/procedures"), timeout=10,
                   json={**DOG, "code": "cat", "fields": [{**DOG["fields"][1], "kind": "odd"}]})
    assert r.status_code == 422 and r.json()["details"]["key"].endswith(".fields[0].kind")
    public = served(server)
    assert any(s["code"] == "pets" for s in public["services"])
    assert any(p["code"] == "dog_register" and p["fee_yen"] == 3000
               for p in public["procedures"])

    # in use: a procedure belongs to it, a counter serves it, a life event lists the
    # procedure, tickets are open today — each refused with its reason, nothing stored
    kita = next(w for w in ok(admin.get(server.api(A)))["catalog"]["wards"]
                if w["code"] == "kita")
    ok(admin.put(server.api(f"{A}/wards/kita/services"), timeout=10,
                 json={"services": [*kita["services"], "pets"]}))
    # the ward's kiosks get it at their next sync (the ward now offers the service)
    kiosk = {"Authorization": f"Bearer {server.kiosk_token}"}
    config = ok(requests.get(server.api("/device/config"), headers=kiosk, timeout=10))
    assert any(p["code"] == "dog_register" for p in config["procedures"])
    ok(admin.put(server.api(f"{A}/wards/kita/counters/70"), timeout=10,
                 json={"name": "ペット窓口", "services": ["pets"]}))
    tennyu = event(ok(admin.get(server.api(A))), "tennyu")
    ok(admin.put(server.api(f"{A}/life-events/pets"), timeout=10, json={"event": {
        "code": "pets", "name": "犬を飼い始めた", "items": [{"procedure": "dog_register"}]}}))
    assert tennyu
    ticket = ok(issue(server, service="pets", procedure="dog_register"), 201)
    assert ticket["number"].startswith("Q")
    version = ok(admin.get(server.api(A)))["version"]

    def refused(path: str, code: str, reason: str) -> None:
        r = admin.delete(server.api(f"{A}/{path}"), timeout=10)
        assert r.status_code == 409 and r.json()["error"] == code, r.text
        assert reason in r.json()["message"], r.text
        assert ok(admin.get(server.api(A)))["version"] == version

    refused("services/pets", "service_in_use", "counters serve 'pets' (kita 70)")
    refused("procedures/dog_register", "procedure_in_use", "life events list")
    ok(admin.delete(server.api(f"{A}/life-events/pets"), timeout=10))
    version += 1
    refused("procedures/dog_register", "procedure_in_use", "tickets of procedure "
            f"'dog_register' are open today (kita {ticket['number']})")
    staff = server.session("staff")
    ok(staff.post(server.api(f"/tickets/{ticket['id']}/cancel"), timeout=10))
    ok(admin.delete(server.api(f"{A}/procedures/dog_register"), timeout=10))
    ok(admin.delete(server.api(f"{A}/wards/kita/counters/70"), timeout=10))
    ticket = ok(issue(server, service="pets"), 201)
    version = ok(admin.get(server.api(A)))["version"]
    refused("services/pets", "service_in_use", "tickets of service 'pets' are open today")
    # a roll-back to before the service was added: the same refusal
    r = admin.post(server.api(f"{A}/versions/{first}/rollback"), json={}, timeout=10)
    assert r.status_code == 409 and r.json()["error"] == "service_in_use", r.text
    ok(staff.post(server.api(f"/tickets/{ticket['id']}/cancel"), timeout=10))
    saved = ok(admin.delete(server.api(f"{A}/services/pets"), timeout=10))
    assert "catalog.services.pets: removed" in saved["changes"]
    assert "catalog.wards.kita.services: " in " ".join(saved["changes"])
    assert not any(s["code"] == "pets" for s in served(server)["services"])
    assert admin.delete(server.api(f"{A}/services/pets"), timeout=10).status_code == 404
    # its letter is free again for a new service (the old row keeps the tickets' history
    # until then)
    ok(admin.post(server.api(f"{A}/services"), json={**PETS, "code": "dogs"}, timeout=10), 201)
    rows = ok(admin.get(server.api(f"{A}/versions")))
    assert [r["action"] for r in rows[:2]] == ["catalog.service_added",
                                               "catalog.service_removed"]


def test_a_life_events_questions_and_conditions_over_the_api(backoffice: Any) -> None:
    server = backoffice
    admin = server.session("admin")
    data = ok(admin.get(server.api(A)))
    assert data["question_kinds"] == ["yesno", "choice"] and "other" in data["procedure_groups"]
    tennyu = event(data, "tennyu")
    tennyu["questions"].insert(0, {"key": "car", "text": "車をお持ちですか", "kind": "yesno"})
    tennyu["items"][0]["when"] = {"car": "maybe"}
    r = admin.put(server.api(f"{A}/life-events/tennyu"), json={"event": tennyu}, timeout=10)
    assert r.status_code == 422 and r.json()["details"]["key"].endswith("items[0].when.car")
    tennyu["items"][0]["when"] = {"car": ["yes", "no"]}
    tennyu["items"][0]["note"] = "車検証もお持ちください"
    saved = ok(admin.put(server.api(f"{A}/life-events/tennyu"), json={"event": tennyu},
                         timeout=10))
    assert any("questions" in line for line in saved["changes"]), saved
    again = event(ok(admin.get(server.api(A))), "tennyu")
    assert again["questions"][0]["key"] == "car"
    assert again["items"][0]["when"] == {"car": ["yes", "no"]}


@pytest.mark.parametrize("db", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_another_process_serves_an_added_and_a_removed_procedure(backoffice_factory: Any,
                                                                  db: str) -> None:
    """Without a restart: the other process (SQLite: its poll; PostgreSQL: the NOTIFY,
    polling off) serves the new service and procedure, then no longer the removed one."""
    one = backoffice_factory.start(None if db == "sqlite" else "postgres",
                                   config={"catalog": {"poll_seconds": 0.5 if db == "sqlite"
                                                       else 0}})
    two = backoffice_factory.also(one)
    admin = one.session("admin")
    ok(admin.post(one.api(f"{A}/services"), json=PETS, timeout=10), 201)
    ok(admin.post(one.api(f"{A}/procedures"), json=DOG, timeout=10), 201)

    def has(code: str) -> bool:
        return any(p["code"] == code for p in served(two)["procedures"])

    assert until(lambda: has("dog_register"), 10)
    assert any(s["code"] == "pets" for s in served(two)["services"])
    ok(admin.delete(one.api(f"{A}/procedures/dog_register"), timeout=10))
    assert until(lambda: not has("dog_register"), 10)
