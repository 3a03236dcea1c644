"""The catalog as numbered versions in the database (issue #20).

A version holds three mappings, each shaped exactly like its TOML file: `catalog`
(config/catalog.toml: services, wards with counters and opening hours, procedures with
fees and form fields), `life_events` (config/life_events.toml) and `calendar` (the
[calendar] table of backoffice.toml: closed days and special openings). Every change —
from the admin pages or an import of the files — is validated by the very code that reads
the files (`Catalog.from_mapping`, `LifeEventCatalog.from_dict`, `config.calendar_settings`)
and stored as the next version, with who, when and what changed (the version row is the
audit record; `account_events` gets a `catalog.changed` line too). The newest version is
in force: the process that saved it at once; on PostgreSQL the others at once too (the
save NOTIFYs `ward_catalog`, their event listener LISTENs); and each process polls the
version number every `[catalog] poll_seconds` (SQLite's way, PostgreSQL's safety net).

No HTTP here: routes/catalog_admin.py and the command line call it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select, text
from sqlalchemy.exc import IntegrityError

from kiosk.backoffice import catalog_edits
from kiosk.backoffice import models as m
from kiosk.backoffice.clock import utcnow
from kiosk.backoffice.config import CalendarSettings, calendar_settings
from kiosk.backoffice.db import reading, writing
from kiosk.backoffice.events import CATALOG_CHANNEL
from kiosk.backoffice.seed import COMMAND_LINE, Actor, record, sync_catalog_in
from kiosk.configfile import CONFIG_DIR, read_toml
from kiosk.domain.catalog import Catalog
from kiosk.domain.errors import ConfigError
from kiosk.domain.life_events import LifeEventCatalog
from kiosk.domain.section import Section

log = logging.getLogger(__name__)

CATALOG_FILE = "catalog.toml"
LIFE_EVENTS_FILE = "life_events.toml"
CALENDAR_FILE = "calendar.toml"
MAX_CHANGES = 60  # lines of "what changed" kept per version


class Stale(RuntimeError):
    """Another change was saved since the one this edit started from."""

    def __init__(self, current: int) -> None:
        self.current = current
        super().__init__(f"the catalog changed meanwhile (now version {current}); "
                         "reload and make the change again")


@dataclass(frozen=True)
class Loaded:
    """One validated version: what a process serves."""
    version: int
    data: Mapping[str, Any]
    catalog: Catalog
    life_events: LifeEventCatalog | None
    life_events_error: str | None
    calendar: CalendarSettings


def validate(data: Mapping[str, Any], version: int = 0, strict: bool = True) -> Loaded:
    """The three mappings checked as their files are (ConfigError naming file, key and
    problem). `strict=False` keeps a life-event catalog that does not fit as an error
    message instead (a server starts with it, as it did from the files)."""
    unknown = set(data) - {"catalog", "life_events", "calendar"}
    if unknown:
        raise ConfigError("(catalog version)", ", ".join(sorted(unknown)), "unknown part")
    catalog = Catalog.from_mapping(data.get("catalog") or {}, file=CATALOG_FILE)
    calendar = calendar_settings(Section(data.get("calendar") or {}, CALENDAR_FILE))
    life: LifeEventCatalog | None = None
    error: str | None = None
    if data.get("life_events") is not None:
        try:
            life = LifeEventCatalog.from_dict(data["life_events"], catalog,
                                              file=LIFE_EVENTS_FILE)
        except ConfigError as exc:
            if strict:
                raise
            error = str(exc)
    else:
        error = "no life-event catalog"
    return Loaded(version, data, catalog, life, error, calendar)


def calendar_mapping(cal: CalendarSettings) -> dict[str, Any]:
    """[calendar] as backoffice.toml writes it (the first version takes it from there)."""
    def days(table: Mapping[str, frozenset[Any]]) -> dict[str, list[str]]:
        return {ward: sorted(d.isoformat() for d in ds) for ward, ds in table.items()}

    return {"national_holidays": cal.national_holidays, "year_end": cal.year_end,
            "closed": days(cal.closed), "open": days(cal.opened)}


# --- what changed --------------------------------------------------------------------------

def _keyed(items: list[Any]) -> dict[str, Any] | None:
    """A list of tables by their identity (code, number or key), when they have one."""
    for key in ("code", "number", "key"):
        if items and all(isinstance(i, Mapping) and key in i for i in items):
            out = {str(i[key]): i for i in items}
            if len(out) == len(items):
                return out
    return None


def _short(value: Any) -> str:
    text = repr(value) if not isinstance(value, Mapping) else "{…}"
    return text if len(text) <= 60 else text[:57] + "…"


def _diff(path: str, a: Any, b: Any, out: list[str]) -> None:
    if a == b:
        return
    if isinstance(a, list) and isinstance(b, list):
        ka, kb = _keyed(a), _keyed(b)
        if ka is not None and kb is not None:
            common_a, common_b = [k for k in ka if k in kb], [k for k in kb if k in ka]
            if common_a != common_b:  # the same tables in another order (a form's fields)
                out.append(f"{path}: order {_short(common_a)} → {_short(common_b)}")
            a, b = ka, kb
        elif not a and (kb is not None):
            a, b = {}, kb
        elif not b and (ka is not None):
            a, b = ka, {}
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        for k in dict.fromkeys([*a, *b]):
            p = f"{path}.{k}" if path else str(k)
            if k not in a:
                out.append(f"{p}: added {_short(b[k])}")
            elif k not in b:
                out.append(f"{p}: removed")
            else:
                _diff(p, a[k], b[k], out)
        return
    out.append(f"{path}: {_short(a)} → {_short(b)}")


def changes(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> list[str]:
    """What changed between two versions, one line per value ("catalog.procedures.
    juminhyo.fee_yen: 300 → 350")."""
    if old is None:
        return [f"{part}: imported" for part, value in new.items() if value is not None]
    out: list[str] = []
    _diff("", dict(old), dict(new), out)
    if len(out) > MAX_CHANGES:
        out = [*out[:MAX_CHANGES], f"… and {len(out) - MAX_CHANGES} more"]
    return out


# --- the database --------------------------------------------------------------------------

def latest_number(engine: Engine) -> int:
    """The newest version's number (0: none yet). One indexed read."""
    with reading(engine) as conn:
        return int(conn.execute(select(func.max(m.catalog_versions.c.version))).scalar() or 0)


def _row(conn: Connection, version: int | None = None) -> Any:
    cv = m.catalog_versions
    query = select(cv).order_by(cv.c.version.desc()).limit(1)
    if version is not None:
        query = select(cv).where(cv.c.version == version)
    return conn.execute(query).first()


def load(engine: Engine, version: int | None = None) -> Loaded | None:
    """A stored version (the newest by default), validated; None when there is none."""
    with reading(engine) as conn:
        row = _row(conn, version)
    if row is None:
        return None
    return validate(row.data, int(row.version), strict=False)


def save(engine: Engine, data: Mapping[str, Any], *, actor: Actor = COMMAND_LINE,
         ward: str | None = None, action: str = "catalog.changed", base: int | None = None,
         strict: bool = True, note: str | None = None,
         today: date | None = None) -> tuple[Loaded, list[str]]:
    """Validate `data` and store it as the next version (with who, when and what changed);
    the tables mirroring wards, services and counters follow in the same transaction.
    `base`: the version the edit started from — another saved since raises Stale. Nothing
    changed: the current version is returned and nothing stored. `note` heads the lines of
    what changed ("rolled back to 3"). A counter removed while a ticket is called to it or
    served there is refused (seed.CounterBusy), nothing stored. `today` (an admin's change
    or roll-back): a service or procedure it removes while its tickets are open that day
    is refused too (catalog_edits.Refused)."""
    loaded = validate(data, strict=strict)
    try:
        with writing(engine) as conn:
            row = _row(conn)
            current = int(row.version) if row is not None else 0
            if base is not None and base != current:
                raise Stale(current)
            what = changes(row.data if row is not None else None, data)
            if row is not None and not what:
                return validate(row.data, current, strict=False), []
            if today is not None and row is not None:
                refuse_open_tickets(conn, row.data, data, today)
            if note:
                what = [note, *what]
            number = current + 1
            conn.execute(insert(m.catalog_versions).values(
                version=number, at=utcnow(), actor=actor.username, ward=ward,
                action=action[:32], changes=what, data=dict(data)))
            sync_catalog_in(conn, loaded.catalog, refuse_busy=True)
            record(conn, actor, action[:32], "catalog", f"v{number}", ward)
            if conn.dialect.name == "postgresql":  # delivered at commit, to every process
                conn.execute(text("SELECT pg_notify(:channel, :version)"),
                             {"channel": CATALOG_CHANNEL, "version": str(number)})
    except IntegrityError:  # another process stored the same number meanwhile
        raise Stale(latest_number(engine)) from None
    return Loaded(number, loaded.data, loaded.catalog, loaded.life_events,
                  loaded.life_events_error, loaded.calendar), what


OPEN_STATES = ("waiting", "called", "serving", "held")


def _codes(data: Mapping[str, Any], part: str) -> list[str]:
    return [str(t.get("code")) for t in (data.get("catalog") or {}).get(part, [])
            if isinstance(t, Mapping)]


def refuse_open_tickets(conn: Connection, old: Mapping[str, Any], new: Mapping[str, Any],
                        day: date) -> None:
    """Refuse (catalog_edits.Refused, 409) a version that removes a service while tickets
    in its queue, or a procedure while tickets of it, are waiting, called, being served or
    held on `day` — it would leave a queue or a form no counter knows. By ward, so the
    tickets' queue index serves the query; nothing removed, no query."""
    t = m.tickets
    wards = _codes(old, "wards")
    for part, column in (("services", t.c.service), ("procedures", t.c.procedure)):
        for code in sorted(set(_codes(old, part)) - set(_codes(new, part))):
            found = [f"{r.ward} {r.label}" for r in conn.execute(
                select(t.c.ward, t.c.label).where(
                    t.c.ward.in_(wards), t.c.status.in_(OPEN_STATES), t.c.day == day,
                    column == code).limit(6))]
            if found:
                raise catalog_edits.Refused(
                    f"{part[:-1]}_in_use",
                    f"tickets of {part[:-1]} {code!r} are open today ({', '.join(found[:5])}"
                    f"{', …' if len(found) > 5 else ''}): remove it when they are done")


def rollback(engine: Engine, to: int, *, actor: Actor = COMMAND_LINE,
             ward: str | None = None, base: int | None = None,
             today: date | None = None) -> tuple[Loaded, list[str]]:
    """Make version `to` the one in force again, as a new version "rolled back to N" (the
    versions in between stay in the history). `ward`: a ward's admin — only that ward's
    own parts (counters, services offered, hours, days) go back; the city-wide parts stay.
    KeyError: no such version (or the ward is not in it)."""
    with reading(engine) as conn:
        old, now = _row(conn, to), _row(conn)
    if old is None or now is None:
        raise KeyError(f"there is no catalog version {to}")
    data = dict(old.data) if ward is None else catalog_edits.ward_parts_from(now.data,
                                                                            old.data, ward)
    return save(engine, data, actor=actor, ward=ward, action="catalog.rolled_back",
                base=int(now.version) if base is None else base, today=today,
                note=f"rolled back to {to}" + (f" ({ward})" if ward else ""))


def history(engine: Engine, ward: str | None = None, limit: int = 50) -> list[Any]:
    """The versions, newest first, without their data (a ward: its own and city-wide)."""
    cv = m.catalog_versions
    query = (select(cv.c.version, cv.c.at, cv.c.actor, cv.c.ward, cv.c.action, cv.c.changes)
             .order_by(cv.c.version.desc()).limit(limit))
    if ward is not None:
        query = query.where((cv.c.ward == ward) | cv.c.ward.is_(None))
    with reading(engine) as conn:
        return list(conn.execute(query))


# --- files ---------------------------------------------------------------------------------

def read_files(folder: str | Path | None = None, *, catalog: str | Path | None = None,
               life_events: str | Path | None = None,
               calendar: str | Path | None = None) -> dict[str, Any]:
    """The three files as a version's data (a folder holding them, or each by name; a
    missing life-event or calendar file is an empty part)."""
    base = Path(folder) if folder is not None else CONFIG_DIR
    life = Path(life_events) if life_events is not None else base / LIFE_EVENTS_FILE
    cal = Path(calendar) if calendar is not None else base / CALENDAR_FILE
    return {"catalog": read_toml(Path(catalog) if catalog is not None else base / CATALOG_FILE),
            "life_events": read_toml(life) if life.exists() else None,
            "calendar": read_toml(cal) if cal.exists() else {}}


def write_files(loaded: Loaded, folder: str | Path) -> list[Path]:
    """Export a version as TOML files for review (same shape as the files it reads)."""
    import tomli_w

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, part in ((CATALOG_FILE, "catalog"), (LIFE_EVENTS_FILE, "life_events"),
                       (CALENDAR_FILE, "calendar")):
        if loaded.data.get(part) is None:
            continue
        path = out / name
        header = (f"# Exported from catalog version {loaded.version}; "
                  "import with `python -m kiosk.backoffice catalog import`.\n")
        path.write_text(header + tomli_w.dumps(_tomlable(loaded.data[part])), encoding="utf-8")
        written.append(path)
    return written


def _tomlable(value: Any) -> Any:
    """TOML has no null: a None value is left out (the files never hold one either)."""
    if isinstance(value, Mapping):
        return {k: _tomlable(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_tomlable(v) for v in value]
    return value


# --- a server process ----------------------------------------------------------------------

def first_version(catalog: Catalog, calendar: CalendarSettings) -> dict[str, Any]:
    """Version 1 from what the process was started with: its catalog file, the life-event
    file beside the configuration, the [calendar] of its settings."""
    life = CONFIG_DIR / LIFE_EVENTS_FILE
    return {"catalog": dict(catalog.data), "life_events": read_toml(life) if life.exists()
            else None, "calendar": calendar_mapping(calendar)}


def start(bo: Any) -> None:
    """At server start: an empty table gets the files as version 1; the newest version is
    then put in force (and mirrored into the ward, service and counter tables)."""
    if latest_number(bo.engine) == 0 and bo.catalog.data:
        try:
            save(bo.engine, first_version(bo.catalog, bo.settings.calendar),
                 action="catalog.imported", strict=False, base=0)
        except Stale:
            pass  # another process imported them meanwhile
    loaded = load(bo.engine)
    if loaded is not None:
        if bo.catalog.data and dict(bo.catalog.data) != loaded.data.get("catalog"):
            log.warning("%s differs from catalog version %d in the database, which is in "
                        "force: to use the file, `python -m kiosk.backoffice catalog import`",
                        bo.catalog.source or CATALOG_FILE, loaded.version)
        with writing(bo.engine) as conn:
            sync_catalog_in(conn, loaded.catalog)
        bo.use_catalog(loaded)


def refresh(bo: Any) -> bool:
    """Put a newer stored version in force in this process; True when there was one."""
    if latest_number(bo.engine) <= bo.catalog_number:
        return False
    loaded = load(bo.engine)
    if loaded is None or loaded.version <= bo.catalog_number:
        return False
    bo.use_catalog(loaded)
    log.info("catalog version %d in force", loaded.version)
    return True


async def refresh_now(bo: Any) -> None:
    """`refresh` off the event loop; a failure is logged (the next check tries again)."""
    import anyio.to_thread

    try:
        await anyio.to_thread.run_sync(refresh, bo)
    except Exception as exc:  # noqa: BLE001 — the database may be failing over
        log.warning("catalog version check failed: %s", exc)


def notified(bo: Any) -> Callable[[], None]:
    """For the PostgreSQL listener: a NOTIFY of a new version refreshes at once."""
    pending: set[asyncio.Task[None]] = set()

    def on_catalog() -> None:
        task = asyncio.get_running_loop().create_task(refresh_now(bo))
        pending.add(task)
        task.add_done_callback(pending.discard)

    return on_catalog


async def watch(bo: Any, seconds: float) -> None:
    """Poll for a newer version every `seconds` (the server's lifespan runs it): SQLite's
    way to learn of one, and PostgreSQL's safety net for a NOTIFY lost in a failover."""
    while True:
        await asyncio.sleep(seconds)
        await refresh_now(bo)
