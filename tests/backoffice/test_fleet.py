"""Kiosk releases in the back-office (issue #20, kiosk fleet): a city-wide admin registers
and withdraws releases, a ward's admin sets its ward's target (not another ward's), a kiosk
gets its target (the canary first) and downloads the bundle with its token, resumably;
bad input is a clear 4xx; every change is in the audit trail. Through the real server."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.backoffice.accounts import bearer, create_account, sign_in
from tests.backoffice.conftest import ok
from tests.support.fleet import fleet_config, publish, register, target
from tests.support.rauc import RaucSystem


@pytest.fixture
def fleet(backoffice_factory: Any, tmp_path: Path) -> tuple[Any, Path]:
    bundles = tmp_path / "bundles"
    return backoffice_factory.start(config=fleet_config(bundles)), bundles


def test_register_target_and_download(fleet: tuple[Any, Path]) -> None:
    server, bundles = fleet
    kiosk = server.session("kiosk")
    assert ok(kiosk.get(server.api("/device/release"), timeout=30)) == {"version": None}
    release = publish(server, bundles, "2.0", padding=100_000)
    got = ok(kiosk.get(server.api("/device/release"), timeout=30))
    assert got == {"version": "2.0", "compatible": "ward-kiosk-amd64",
                   "sha256": release["sha256"], "size": release["size"],
                   "url": "/api/v1/device/bundles/2.0"}
    whole = kiosk.get(server.url + got["url"], timeout=30)
    assert whole.status_code == 200 and hashlib.sha256(whole.content).hexdigest() == \
        release["sha256"]
    part = kiosk.get(server.url + got["url"], headers={"Range": "bytes=1000-"}, timeout=30)
    assert part.status_code == 206 and part.content == whole.content[1000:]
    # the bundle needs a kiosk's token
    assert requests.get(server.url + got["url"], timeout=30).status_code == 401
    assert server.session("staff").get(server.url + got["url"], timeout=30).status_code == 403
    # held back: no target
    target(server, "kita", None)
    assert ok(kiosk.get(server.api("/device/release"), timeout=30)) == {"version": None}


def test_canary_gets_its_version_first(fleet: tuple[Any, Path]) -> None:
    server, bundles = fleet
    publish(server, bundles, "2.0")
    register(server, bundles, "2.1")
    target(server, "kita", "2.0", canary_version="2.1", canary=["kiosk-kita-1"])
    assert ok(server.session("kiosk").get(server.api("/device/release"),
                                          timeout=30))["version"] == "2.1"
    spare = ok(server.session("admin").post(server.api("/admin/devices"), timeout=30, json={
        "name": "kiosk-kita-9", "kind": "kiosk", "ward": "kita"}), 201)
    assert ok(bearer(spare["token"]).get(server.api("/device/release"),
                                         timeout=30))["version"] == "2.0"


def test_who_may_do_what(fleet: tuple[Any, Path]) -> None:
    server, bundles = fleet
    ward_admin = sign_in(server, "f-admin-kita", create_account(server, "f-admin-kita",
                                                                "admin", "kita"))
    r = ward_admin.post(server.api("/admin/releases"), timeout=30, json={
        "version": "9.0", "compatible": "x", "sha256": "0" * 64, "size": 1, "url": "https://x/"})
    assert r.status_code == 403, r.text            # only a city-wide admin registers
    register(server, bundles, "2.0")
    assert ok(ward_admin.put(server.api("/admin/wards/kita/release"), timeout=30,
                             json={"version": "2.0"}))["version"] == "2.0"
    r = ward_admin.put(server.api("/admin/wards/naka/release"), timeout=30,
                       json={"version": "2.0"})
    assert r.status_code == 403, r.text            # not its ward
    assert ward_admin.patch(server.api("/admin/releases/2.0"), timeout=30,
                            json={"published": False}).status_code == 403
    seen = ok(ward_admin.get(server.api("/admin/releases"), timeout=30))
    assert [w["ward"] for w in seen["wards"]] == ["kita"]
    events = ok(server.session("admin").get(server.api("/admin/account-events"), timeout=30))
    actions = [(e["action"], e["target"], e["ward"]) for e in events
               if e["target_kind"] == "release"]
    assert ("release.registered", "2.0", None) in actions
    assert ("release.ward_target", "2.0", "kita") in actions


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"version": "../x"}, 422, None),
    ({"sha256": "XYZ"}, 422, None),
    ({"size": 0}, 422, None),
    ({"url": "http://plain.example/b.raucb", "filename": None}, 422, None),
    ({"url": "https://cdn.example/b.raucb"}, 422, "filename_or_url"),       # both
    ({"filename": "missing.raucb"}, 422, "no_such_bundle"),
    ({"size": 5}, 422, "size_mismatch"),
    ({"sha256": "1" * 64}, 422, "sha256_mismatch"),
    ({"filename": None, "url": "https://cdn.example/b.raucb", "sha256": None}, 422,
     "sha256_and_size_needed"),
    ({"filename": "../etc/passwd"}, 422, None),
    ({"extra": 1}, 422, None),
])
def test_bad_releases_are_refused(fleet: tuple[Any, Path], body: dict[str, Any], status: int,
                                  code: str | None) -> None:
    server, bundles = fleet
    good = register(server, bundles, "1.9")
    release = {k: good[k] for k in ("compatible", "sha256", "size", "filename")}
    r = server.session("admin").post(server.api("/admin/releases"), timeout=30,
                                     json={**release, "version": "3.0", **body})
    assert r.status_code == status, r.text
    if code:
        assert r.json()["error"] == code, r.text


def test_the_server_computes_sha256_and_size(fleet: tuple[Any, Path]) -> None:
    """A file in bundle_dir: the admin names it only; the page is offered the files no
    release names yet."""
    server, bundles = fleet
    admin = server.session("admin")
    register(server, bundles, "1.0")
    data = b"bundle" * 300_000
    (bundles / "kiosk-2.0.raucb").write_bytes(data)
    (bundles / ".hidden").write_bytes(b"x")
    assert ok(admin.get(server.api("/admin/bundles"), timeout=30)) == {
        "bundle_dir": True, "files": [{"filename": "kiosk-2.0.raucb", "size": len(data)}]}
    got = ok(admin.post(server.api("/admin/releases"), timeout=30, json={
        "version": "2.0", "compatible": "ward-kiosk-amd64", "filename": "kiosk-2.0.raucb"}),
        201)
    assert (got["sha256"], got["size"]) == (hashlib.sha256(data).hexdigest(), len(data))
    assert got["signature"] == "unchecked"        # no [fleet] keyring here
    assert ok(admin.get(server.api("/admin/bundles"), timeout=30))["files"] == []
    ward_admin = sign_in(server, "f-admin-kita2", create_account(server, "f-admin-kita2",
                                                                 "admin", "kita"))
    assert ward_admin.get(server.api("/admin/bundles"), timeout=30).status_code == 403


def test_signatures_are_checked_at_registration(backoffice_factory: Any,
                                                 tmp_path: Path) -> None:
    """[fleet] keyring set: bundles made by the real `rauc bundle` are verified with `rauc
    info`; another CA's, an altered one and another compatible's are refused (422)."""
    if not all(shutil.which(x) for x in ("rauc", "mksquashfs", "openssl")):
        pytest.skip("needs rauc, mksquashfs and openssl")
    keys = RaucSystem(tmp_path / "keys", {})
    keys.root.mkdir()
    bundles = tmp_path / "bundles"
    server = backoffice_factory.start(config={"fleet": {
        **fleet_config(bundles)["fleet"], "keyring": str(keys.key("ca")[0])}})
    made = {name: shutil.copy(keys.bundle(version, **kw), bundles / f"{name}.raucb")
            for name, version, kw in (("good", "2.0", {}), ("evil", "2.1", {"signer": "evil"}),
                                      ("other", "2.2", {"compatible": "other"}),
                                      ("altered", "2.3", {}))}
    with open(made["altered"], "r+b") as f:
        f.seek(5000)
        byte = f.read(1)
        f.seek(5000)
        f.write(bytes([byte[0] ^ 0xFF]))
    admin = server.session("admin")

    def post(name: str, version: str) -> requests.Response:
        return admin.post(server.api("/admin/releases"), timeout=60, json={
            "version": version, "compatible": "ward-kiosk-amd64", "filename": f"{name}.raucb"})

    assert ok(post("good", "2.0"), 201)["signature"] == "verified"
    for name, version, error in (("evil", "2.1", "bad_signature"),
                                 ("altered", "2.3", "bad_signature"),
                                 ("other", "2.2", "compatible_mismatch")):
        r = post(name, version)
        assert r.status_code == 422 and r.json()["error"] == error, r.text
        assert f"{name}.raucb" in r.text or error == "compatible_mismatch", r.text
    assert [x["version"] for x in ok(admin.get(server.api("/admin/releases"),
                                               timeout=30))["releases"]] == ["2.0"]


def test_no_keyring_is_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from types import SimpleNamespace

    from kiosk.backoffice.config import FleetSettings
    from kiosk.backoffice.fleet import check_signature
    bo = SimpleNamespace(settings=SimpleNamespace(fleet=FleetSettings(bundle_dir=str(tmp_path))))
    with caplog.at_level("WARNING", logger="kiosk.backoffice.fleet"):
        assert check_signature(bo, tmp_path / "b.raucb", "x") == "unchecked"  # type: ignore[arg-type]
    assert "b.raucb registered without a signature check" in caplog.text


def test_bad_targets_and_duplicates(fleet: tuple[Any, Path]) -> None:
    server, bundles = fleet
    release = register(server, bundles, "2.0")
    admin = server.session("admin")
    again = {k: release[k] for k in ("version", "compatible", "sha256", "size", "filename")}
    assert admin.post(server.api("/admin/releases"), json=again,
                      timeout=30).status_code == 409
    for body in ({"version": "7.7"}, {"version": "2.0", "canary": ["kiosk-kita-1"]},
                 {"version": "2.0", "canary_version": "2.0", "canary": ["kiosk-naka-1"]}):
        r = admin.put(server.api("/admin/wards/kita/release"), json=body, timeout=30)
        assert r.status_code == 422, r.text
    assert admin.put(server.api("/admin/wards/nowhere/release"), json={"version": "2.0"},
                     timeout=30).status_code == 404
    target(server, "kita", "2.0")
    r = admin.patch(server.api("/admin/releases/2.0"), json={"published": False}, timeout=30)
    assert r.status_code == 409, r.text            # a ward still targets it
    assert admin.get(server.api("/device/bundles/nope"), timeout=30).status_code in (403, 404)
    assert server.session("kiosk").get(server.api("/device/bundles/9.9"),
                                       timeout=30).status_code == 404


def test_delete_a_release(fleet: tuple[Any, Path]) -> None:
    """Only a release no ward targets (nor has as its canary) is deleted; audited; its file
    stays unless asked."""
    server, bundles = fleet
    admin = server.session("admin")
    publish(server, bundles, "2.0")
    register(server, bundles, "2.1")
    register(server, bundles, "2.2")
    target(server, "naka", "2.0", canary_version="2.1", canary=["kiosk-naka-1"])
    for version in ("2.0", "2.1"):
        r = admin.delete(server.api(f"/admin/releases/{version}"), timeout=30)
        assert r.status_code == 409 and r.json()["error"] == "release_in_use", r.text
        assert "kita" in r.text or "naka" in r.text
    assert ok(admin.delete(server.api("/admin/releases/2.2"), timeout=30)) == {
        "version": "2.2", "filename": "kiosk-2.2.raucb", "file_removed": False}
    assert (bundles / "kiosk-2.2.raucb").exists()
    target(server, "naka", "2.0")
    assert ok(admin.delete(server.api("/admin/releases/2.1?remove_file=true"),
                           timeout=30))["file_removed"] is True
    assert not (bundles / "kiosk-2.1.raucb").exists()
    assert admin.delete(server.api("/admin/releases/2.1"), timeout=30).status_code == 404
    assert admin.delete(server.api("/admin/releases/2.1?remove_file=maybe"),
                        timeout=30).status_code == 422
    left = ok(admin.get(server.api("/admin/releases"), timeout=30))["releases"]
    assert [x["version"] for x in left] == ["2.0"]
    events = ok(admin.get(server.api("/admin/account-events"), timeout=30))
    assert {("release.deleted", "2.1"), ("release.deleted", "2.2")} <= {
        (e["action"], e["target"]) for e in events}


def test_update_state_in_the_heartbeat_raises_the_alarm(fleet: tuple[Any, Path]) -> None:
    server, bundles = fleet
    publish(server, bundles, "3.0")
    kiosk = server.session("kiosk")
    ok(kiosk.post(server.api("/device/heartbeat"), timeout=30, json={
        "status": "ok", "update": {"state": "rolled-back", "version": "2.0", "slot": "A",
                                   "target": "3.0", "rolled_back": "3.0"}}))
    view = ok(server.session("supervisor").get(server.api("/devices/health?ward=kita"),
                                               timeout=30))
    row = next(d for d in view["devices"] if d["name"] == "kiosk-kita-1")
    assert "update:rolled_back" in row["problems"] and row["version"] == "2.0"
    assert row["update"]["rolled_back"] == "3.0"
    assert view["release"]["version"] == "3.0"
    r = kiosk.post(server.api("/device/heartbeat"), timeout=30, json={
        "status": "ok", "update": {"state": "exploded"}})
    assert r.status_code == 422, r.text


def test_on_postgresql(backoffice_factory: Any, tmp_path: Path) -> None:
    bundles = tmp_path / "bundles"
    server = backoffice_factory.start("postgres", config=fleet_config(bundles))
    release = publish(server, bundles, "2.0")
    target(server, "kita", "2.0", canary_version="2.0", canary=["kiosk-kita-1"])
    kiosk = server.session("kiosk")
    got = ok(kiosk.get(server.api("/device/release"), timeout=30))
    assert got["sha256"] == release["sha256"]
    assert kiosk.get(server.url + got["url"], timeout=30).content == \
        (bundles / "kiosk-2.0.raucb").read_bytes()
    assert ok(server.session("admin").patch(server.api("/admin/releases/2.1"), timeout=30,
                                            json={"published": False}), 404) is not None
