"""The kiosk fleet's releases (issue #20): a city-wide admin registers a release (an image
bundle's version, compatible, sha256 and size, served from [fleet] bundle_dir by file name
or from any https:// url) and publishes or withdraws it; each ward's admin sets the
version its kiosks should run (or none: held back), optionally another version for a few
named kiosks first (the canary). A kiosk asks for its target (routes/releases.py) and
reports its update state with the heartbeat. Every change is in `account_events`.
No HTTP here.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import subprocess
from pathlib import Path
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection

from kiosk.backoffice import models as m
from kiosk.backoffice import seed
from kiosk.backoffice.clock import iso, utcnow
from kiosk.backoffice.context import Backoffice
from kiosk.backoffice.db import reading, writing
from kiosk.backoffice.engine.errors import conflict, invalid, not_found

log = logging.getLogger(__name__)

BUNDLE_PATH = "/api/v1/device/bundles/{version}"
CHUNK = 1024 * 1024


def _release_out(bo: Backoffice, r: Any) -> dict[str, Any]:
    return {"version": r.version, "compatible": r.compatible, "sha256": r.sha256,
            "size": r.size, "filename": r.filename, "url": r.url, "published": r.published,
            "notes": r.notes, "signature": r.signature, "created_at": iso(r.created_at, bo.tz),
            "created_by": r.created_by}


def bundle_file(bo: Backoffice, filename: str) -> Path:
    """The file in [fleet] bundle_dir (a plain name: no folder may be named)."""
    folder = bo.settings.fleet.bundle_dir
    if not folder:
        raise invalid("no_bundle_dir", "this server serves no bundles ([fleet] bundle_dir "
                      "is not set): give the release an https:// url instead")
    return Path(folder) / filename


def measure(path: Path) -> tuple[str, int]:
    """sha256 and size of a bundle, read in 1 MB blocks (a 0.5 GB bundle never sits in
    memory); the caller runs it off the event loop (register runs in a worker thread)."""
    h, size = hashlib.sha256(), 0
    with path.open("rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            h.update(block)
            size += len(block)
    return h.hexdigest(), size


def _bundle_facts(bo: Backoffice, body: dict[str, Any]) -> dict[str, Any]:
    """A release's sha256 and size: computed from its file in bundle_dir (the typed ones,
    when given, must agree), or typed by the admin for an https:// url (this server never
    fetches a url an admin typed)."""
    if body.get("filename") is None:
        missing = [k for k in ("sha256", "size") if body.get(k) is None]
        if missing:
            raise invalid("sha256_and_size_needed", "a release on another server (url) "
                          f"needs {' and '.join(missing)}: this server does not fetch it")
        return body
    path = bundle_file(bo, body["filename"])
    if not path.is_file():
        raise invalid("no_such_bundle", f"{body['filename']!r} is not in the bundle "
                      "folder of this server")
    sha, size = measure(path)
    if body.get("size") is not None and body["size"] != size:
        raise invalid("size_mismatch", f"the file has {size} bytes, the release says "
                      f"{body['size']}")
    if body.get("sha256") is not None and body["sha256"] != sha:
        raise invalid("sha256_mismatch", f"the file's sha256 is {sha}, the release says "
                      f"{body['sha256']}")
    return {**body, "sha256": sha, "size": size,
            "signature": check_signature(bo, path, body["compatible"])}


def check_signature(bo: Backoffice, path: Path, compatible: str) -> str:
    """"verified" when [fleet] keyring is set and RAUC's `rauc info --keyring` accepts the
    bundle (signed under that CA, unaltered — RAUC checks the CMS signature over the whole
    bundle) and its manifest's compatible is the release's; 422 otherwise. "unchecked"
    (and a warning in the log) when no keyring is set."""
    keyring = bo.settings.fleet.keyring
    if not keyring:
        log.warning("release bundle %s registered without a signature check: [fleet] "
                    "keyring is not set (the kiosk's RAUC still checks it)", path.name)
        return "unchecked"
    rauc = shutil.which("rauc") or "/usr/bin/rauc"
    try:
        done = subprocess.run(  # noqa: S603 — rauc, fixed arguments, a file in bundle_dir
            [rauc, "info", f"--keyring={keyring}", "--output-format=json", str(path)],
            capture_output=True, text=True, timeout=300, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise invalid("signature_unchecked", f"rauc info could not run: {exc}") from None
    if done.returncode != 0:
        lines = [x.strip() for x in done.stderr.splitlines()
                 if x.strip() and "rauc-Message" not in x]
        why = lines[-1] if lines else "rauc info failed"
        raise invalid("bad_signature", f"{path.name} is refused: not a bundle signed under "
                      f"the configured update CA, or altered since ({why[:300]})")
    try:
        manifest = json.loads(done.stdout)
    except ValueError:
        manifest = {}
    if manifest.get("compatible") != compatible:
        raise invalid("compatible_mismatch", f"the bundle is for "
                      f"{manifest.get('compatible')!r}, the release says {compatible!r}")
    return "verified"


def register(bo: Backoffice, actor: seed.Actor, body: dict[str, Any]) -> dict[str, Any]:
    if (body.get("filename") is None) == (body.get("url") is None):
        raise invalid("filename_or_url", "a release names exactly one of filename (a file "
                      "in [fleet] bundle_dir, served by this server) and url (https://)")
    r = m.releases
    with reading(bo.engine) as conn:
        taken = conn.execute(select(r.c.id).where(r.c.version == body["version"])).first()
    if taken:   # before reading a large file
        raise conflict("already_exists", f"release {body['version']!r} exists; a "
                       "release is never changed (register a new version)")
    body = _bundle_facts(bo, body)
    with writing(bo.engine) as conn:
        if conn.execute(select(r.c.id).where(r.c.version == body["version"])).first():
            raise conflict("already_exists", f"release {body['version']!r} exists; a "
                           "release is never changed (register a new version)")
        conn.execute(insert(r).values(**body, created_at=utcnow(), created_by=actor.username))
        seed.record(conn, actor, "release.registered", "release", body["version"], None)
        row = conn.execute(select(r).where(r.c.version == body["version"])).one()
    return _release_out(bo, row)


def unregistered_bundles(bo: Backoffice) -> dict[str, Any]:
    """The files in bundle_dir no release names yet (what the /admin page offers)."""
    folder = bo.settings.fleet.bundle_dir
    files: list[dict[str, Any]] = []
    if folder and Path(folder).is_dir():
        with reading(bo.engine) as conn:
            named = set(conn.execute(select(m.releases.c.filename)).scalars())
        files = [{"filename": f.name, "size": f.stat().st_size}
                 for f in sorted(Path(folder).iterdir())
                 if f.is_file() and f.name not in named and not f.name.startswith(".")]
    return {"bundle_dir": bool(folder), "files": files}


def set_published(bo: Backoffice, actor: seed.Actor, version: str,
                  published: bool) -> dict[str, Any]:
    r = m.releases
    with writing(bo.engine) as conn:
        row = conn.execute(select(r).where(r.c.version == version)).first()
        if row is None:
            raise not_found(f"release {version!r}")
        if not published and _in_use(conn, version):
            raise conflict("release_in_use", f"wards still target {version!r}: choose "
                           "another version for them first")
        conn.execute(update(r).where(r.c.version == version).values(published=published))
        seed.record(conn, actor, "release.published" if published else "release.withdrawn",
                    "release", version, None)
        row = conn.execute(select(r).where(r.c.version == version)).one()
    return _release_out(bo, row)


def remove(bo: Backoffice, actor: seed.Actor, version: str,
           remove_file: bool) -> dict[str, Any]:
    """Delete a release no ward targets (as its version or its canary version); its file
    in bundle_dir stays unless `remove_file` (and no other release names that file)."""
    r = m.releases
    removed = False
    with writing(bo.engine) as conn:
        row = conn.execute(select(r).where(r.c.version == version)).first()
        if row is None:
            raise not_found(f"release {version!r}")
        wards = _wards_using(conn, version)
        if wards:
            raise conflict("release_in_use", f"release {version!r} is the target or the "
                           f"canary of {', '.join(wards)}: choose another version for "
                           "them first")
        conn.execute(delete(r).where(r.c.version == version))
        shared = row.filename is not None and conn.execute(
            select(r.c.id).where(r.c.filename == row.filename)).first() is not None
        seed.record(conn, actor, "release.deleted", "release", version, None)
        if remove_file and row.filename is not None and not shared:
            path = bundle_file(bo, row.filename)
            removed = path.is_file()
            path.unlink(missing_ok=True)
    if removed:
        log.info("release %s deleted by %s, its file %s removed", version,
                 actor.username, row.filename)
    return {"version": version, "filename": row.filename, "file_removed": removed}


def _wards_using(conn: Connection, version: str) -> list[str]:
    w = m.ward_releases
    return list(conn.execute(select(w.c.ward).where(
        (w.c.version == version) | (w.c.canary_version == version)).order_by(w.c.ward))
        .scalars())


def _in_use(conn: Connection, version: str) -> bool:
    w = m.ward_releases
    return conn.execute(select(w.c.ward).where(
        (w.c.version == version) | (w.c.canary_version == version))).first() is not None


def _ward_out(bo: Backoffice, row: Any) -> dict[str, Any]:
    return {"ward": row.ward, "version": row.version, "canary_version": row.canary_version,
            "canary": list(row.canary or []), "updated_at": iso(row.updated_at, bo.tz),
            "updated_by": row.updated_by}


def set_ward_target(bo: Backoffice, actor: seed.Actor, ward: str, version: str | None,
                    canary_version: str | None, canary: list[str]) -> dict[str, Any]:
    r, w, d = m.releases, m.ward_releases, m.devices
    with writing(bo.engine) as conn:
        for v in {version, canary_version} - {None}:
            row = conn.execute(select(r.c.published).where(r.c.version == v)).first()
            if row is None or not row.published:
                raise invalid("not_published", f"release {v!r} is not a published release")
        if canary and canary_version is None:
            raise invalid("canary_without_version", "a canary list needs canary_version")
        names = set(conn.execute(select(d.c.name).where(d.c.ward == ward,
                                                        d.c.kind == "kiosk")).scalars())
        unknown = sorted(set(canary) - names)
        if unknown:
            raise invalid("unknown_devices", f"not kiosks of ward {ward!r}: "
                          f"{', '.join(unknown)}")
        values = {"version": version, "canary_version": canary_version,
                  "canary": sorted(set(canary)), "updated_at": utcnow(),
                  "updated_by": actor.username}
        if conn.execute(select(w.c.ward).where(w.c.ward == ward)).first():
            conn.execute(update(w).where(w.c.ward == ward).values(**values))
        else:
            conn.execute(insert(w).values(ward=ward, **values))
        seed.record(conn, actor, "release.ward_target", "release", version or "held", ward)
        return _ward_out(bo, conn.execute(select(w).where(w.c.ward == ward)).one())


def overview(bo: Backoffice, ward: str | None) -> dict[str, Any]:
    """Every release (published or not) and each ward's target (a ward's admin: its own)."""
    r, w = m.releases, m.ward_releases
    with reading(bo.engine) as conn:
        releases = conn.execute(select(r).order_by(r.c.id.desc())).all()
        query = select(w).order_by(w.c.ward)
        if ward is not None:
            query = query.where(w.c.ward == ward)
        wards = conn.execute(query).all()
    return {"releases": [_release_out(bo, x) for x in releases],
            "wards": [_ward_out(bo, x) for x in wards]}


def ward_target(bo: Backoffice, ward: str) -> dict[str, Any] | None:
    w = m.ward_releases
    with reading(bo.engine) as conn:
        row = conn.execute(select(w).where(w.c.ward == ward)).first()
    return None if row is None else _ward_out(bo, row)


def target_for(bo: Backoffice, ward: str, device_name: str) -> dict[str, Any]:
    """What this kiosk should run: the canary version when it is named in its ward's
    canary list, else the ward's version; {"version": None} when held back or unset."""
    r, w = m.releases, m.ward_releases
    with reading(bo.engine) as conn:
        row = conn.execute(select(w).where(w.c.ward == ward)).first()
        version = None
        if row is not None:
            version = (row.canary_version if row.canary_version
                       and device_name in (row.canary or []) else row.version)
        rel = None if version is None else conn.execute(
            select(r).where(r.c.version == version, r.c.published.is_(True))).first()
    if rel is None:
        return {"version": None}
    url = rel.url or BUNDLE_PATH.format(version=rel.version)
    return {"version": rel.version, "compatible": rel.compatible, "sha256": rel.sha256,
            "size": rel.size, "url": url}


def served_bundle(bo: Backoffice, version: str) -> Path:
    """The file of a published release this server serves."""
    r = m.releases
    with reading(bo.engine) as conn:
        rel = conn.execute(select(r).where(r.c.version == version,
                                           r.c.published.is_(True))).first()
    if rel is None or rel.filename is None:
        raise not_found(f"bundle of release {version!r}")
    path = bundle_file(bo, rel.filename)
    if not path.is_file():
        raise not_found(f"bundle file of release {version!r}")
    return path
