"""Kiosk fleet helpers: a back-office serving bundles, and a stand-in release published to
a ward (tests/backoffice/test_fleet.py, tests/unit/test_fleet_agent.py, the browser test)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from hardware.updater import make_bundle
from tests.backoffice.conftest import ok


def fleet_config(bundle_dir: Path) -> dict[str, Any]:
    bundle_dir.mkdir(parents=True, exist_ok=True)
    return {"fleet": {"bundle_dir": str(bundle_dir)}}


def register(server: Any, bundle_dir: Path, version: str, *, boots: bool = True,
             signed: bool = True, padding: int = 0, who: str = "admin") -> dict[str, Any]:
    """A stand-in bundle in the server's bundle folder, registered as a release."""
    path = make_bundle(bundle_dir / f"kiosk-{version}.raucb", version, boots=boots,
                       signed=signed, padding=padding)
    data = path.read_bytes()
    return dict(ok(server.session(who).post(server.api("/admin/releases"), timeout=30, json={
        "version": version, "compatible": "ward-kiosk-amd64",
        "sha256": hashlib.sha256(data).hexdigest(), "size": len(data),
        "filename": path.name}), 201))


def target(server: Any, ward: str, version: str | None, who: str = "admin",
           **extra: Any) -> dict[str, Any]:
    return dict(ok(server.session(who).put(server.api(f"/admin/wards/{ward}/release"),
                                           timeout=30, json={"version": version, **extra})))


def publish(server: Any, bundle_dir: Path, version: str, ward: str = "kita",
            **bundle: Any) -> dict[str, Any]:
    """Register `version` and make it the ward's target."""
    release = register(server, bundle_dir, version, **bundle)
    target(server, ward, version)
    return release


def backoffice_section(server: Any, folder: Path, token: str | None = None) -> dict[str, Any]:
    """kiosk.toml's [backoffice] for the seeded kiosk of kita (its token in a file)."""
    (folder / "token").write_text((token or server.kiosk_token) + "\n")
    return {"url": server.url, "ward": "kita", "device_token_file": str(folder / "token"),
            "insecure_http": True}


def kiosk_client(server: Any, folder: Path, token: str | None = None) -> Any:
    """The kiosk's own back-office client (kiosk.sync), with the seeded kiosk's token."""
    from kiosk.domain.section import Section
    from kiosk.sync.client import BackofficeClient
    from kiosk.sync.settings import parse_backoffice

    return BackofficeClient(parse_backoffice(Section(
        backoffice_section(server, folder, token), "kiosk.toml", "backoffice"), folder))
