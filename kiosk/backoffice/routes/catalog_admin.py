"""Catalog administration (/api/v1/admin/catalog): counters, opening hours and closed days
of a ward (its admin, or a city-wide admin), services, procedures and life events (city-
wide admins: they are one standard for every ward). Each change is validated like the TOML
files and stored as a new catalog version (catalog_versions.py) with who, when and what
changed; it is in force in this process at once, in the others within
`[catalog] poll_seconds`, on the kiosks at their next sync.

A body may name `base_version`, the version the admin's page showed: a change saved by
someone else since is refused (409 catalog_changed) instead of silently overwritten.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from kiosk.backoffice import catalog_edits as edit
from kiosk.backoffice import catalog_versions as versions
from kiosk.backoffice.auth import Principal
from kiosk.backoffice.clock import iso, office_day, utcnow
from kiosk.backoffice.deps import bo_of
from kiosk.backoffice.engine import lookups
from kiosk.backoffice.engine.errors import conflict, forbidden, invalid, not_found
from kiosk.backoffice.routes.admin import ADMIN, Strict, _actor
from kiosk.backoffice.schemas import Out
from kiosk.backoffice.seed import CounterBusy
from kiosk.domain.catalog import PROCEDURE_GROUPS, FieldKind, FieldSource
from kiosk.domain.errors import ConfigError
from kiosk.domain.life_events import QuestionKind

router = APIRouter(prefix="/admin/catalog", tags=["admin"])

WardCode = Annotated[str, Path(min_length=1, max_length=32, pattern=r"^[a-z][a-z0-9_-]*$")]
Code = Annotated[str, Path(min_length=1, max_length=32, pattern=r"^[a-z][a-z0-9_-]*$")]
Number = Annotated[int, Path(ge=1, le=999)]
HHMM = Annotated[str, Field(pattern=r"^\d{2}:\d{2}$")]
BaseVersion = Annotated[int | None, Field(None, ge=0)]


class VersionOut(Out):
    version: int
    at: str | None
    actor: str | None
    ward: str | None
    action: str
    changes: list[str]


class CatalogOut(Out):
    """The version in force, shaped like the files (a ward's admin: its ward only)."""
    version: int
    catalog: dict[str, Any]
    life_events: dict[str, Any] | None
    calendar: dict[str, Any]
    field_kinds: list[str]     # what a form field's kind and source may be, a procedure's
    field_sources: list[str]   # group and a question's kind (the page's choices; the
    procedure_groups: list[str]  # files' validation holds the same lists)
    question_kinds: list[str]


class Saved(Out):
    version: int
    changes: list[str]


class CounterIn(Strict):
    name: str = Field(min_length=1, max_length=40)
    services: list[Annotated[str, Field(max_length=32)]] = Field(max_length=32)
    base_version: BaseVersion = None


class ServicesIn(Strict):
    services: list[Annotated[str, Field(max_length=32)]] = Field(max_length=32)
    base_version: BaseVersion = None


class HoursIn(Strict):
    opens: HHMM
    closes: HHMM
    weekdays: list[Annotated[int, Field(ge=0, le=6)]] = Field(min_length=1, max_length=7)
    base_version: BaseVersion = None


class DaysIn(Strict):
    closed: list[date] = Field(default_factory=list, max_length=400)
    open: list[date] = Field(default_factory=list, max_length=400)
    base_version: BaseVersion = None


class ServiceIn(Strict):
    name: str | None = Field(None, min_length=1, max_length=60)
    target_wait_minutes: int | None = Field(None, le=24 * 60)  # the rest: the file's rules
    default_service_minutes: float | None = Field(None, le=24 * 60)
    base_version: BaseVersion = None


class ProcedureIn(Strict):
    name: str | None = Field(None, min_length=1, max_length=80)
    fee_yen: int | None = Field(None, le=10_000_000)  # the rest: the file's rules
    fee_per_copy: bool | None = None
    description: str | None = Field(None, max_length=400)
    fee_exempt_purposes: list[str] | None = Field(None, max_length=20)
    fields: list[dict[str, Any]] | None = Field(None, max_length=60)  # [[procedures.fields]]
    base_version: BaseVersion = None


class ServiceNewIn(Strict):
    """A new service ([[services]] of catalog.toml; its bookings and from-home tables are
    left out here: import the file for those)."""
    code: str = Field(min_length=1, max_length=32, pattern=r"^[a-z][a-z0-9_-]*$")
    prefix: str = Field(min_length=1, max_length=1)  # the rest: the file's rules
    name: str = Field(min_length=1, max_length=60)
    target_wait_minutes: int | None = Field(None, le=24 * 60)
    default_service_minutes: float | None = Field(None, le=24 * 60)
    base_version: BaseVersion = None


class ProcedureNewIn(ProcedureIn):
    """A new procedure ([[procedures]] of catalog.toml) with its form fields."""
    code: str = Field(min_length=1, max_length=32, pattern=r"^[a-z][a-z0-9_-]*$")
    service: str = Field(min_length=1, max_length=32)
    group: str = Field(min_length=1, max_length=32)
    signature: bool | None = None
    card_update: bool | None = None


class RollbackIn(Strict):
    base_version: BaseVersion = None


class LifeEventIn(Strict):
    event: dict[str, Any]  # one [[events]] table of life_events.toml
    base_version: BaseVersion = None


def _city_wide(who: Principal) -> None:
    if who.ward is not None:
        raise forbidden("services, procedures and life events are the same in every ward: "
                        "only a city-wide admin changes them")


async def _ward_change(request: Request, who: Principal, ward: str, action: str,
                       base: int | None, make: Callable[[dict[str, Any]], dict[str, Any]]
                       ) -> dict[str, Any]:
    """A change of one ward's part: that ward must exist and be the admin's."""
    lookups.ward_of(bo_of(request), ward)
    who.check_ward(ward)
    return await _change(request, who, action, ward, base, make)


async def _change(request: Request, who: Principal, action: str, ward: str | None,
                  base: int | None, make: Callable[[dict[str, Any]], dict[str, Any]]
                  ) -> dict[str, Any]:
    """Apply `make` to the version in force, validate and store it, put it in force here
    (a service or procedure it removes: refused while its tickets are open today)."""
    bo = bo_of(request)

    def work() -> tuple[Any, list[str]]:
        current = versions.load(bo.engine)
        if current is None:
            raise conflict("no_catalog_version", "no catalog version is stored yet: start "
                           "the server once or run `catalog import`")
        with _refusals():
            try:
                data = make(dict(current.data))
            except KeyError as exc:
                raise not_found(str(exc.args[0]) if exc.args else "not found") from None
            return versions.save(bo.engine, data, actor=_actor(request, who), ward=ward,
                                 action=action, base=current.version if base is None
                                 else base, today=_today(bo))

    return await _saved(bo, run_in_threadpool(work))


def _today(bo: Any) -> date:
    """The office day a removal's ticket check looks at (tickets open today)."""
    return office_day(utcnow(), bo.tz)


@contextmanager
def _refusals() -> Iterator[None]:
    """A stored change refused: by the files' validation (422), by a change saved meanwhile
    or by a counter serving a ticket (409)."""
    try:
        yield
    except ConfigError as exc:
        raise invalid("invalid_catalog", f"{exc.key}: {exc.problem}", file=exc.file,
                      key=exc.key) from None
    except versions.Stale as exc:
        raise conflict("catalog_changed", str(exc), version=exc.current) from None
    except CounterBusy as exc:
        raise conflict("counter_busy", str(exc)) from None
    except edit.Refused as exc:
        raise conflict(exc.code, str(exc)) from None


async def _saved(bo: Any, work: Awaitable[tuple[Any, list[str]]]) -> dict[str, Any]:
    """A stored version put in force in this process at once."""
    loaded, what = await work
    if loaded.version > bo.catalog_number:
        bo.use_catalog(loaded)
    return {"version": loaded.version, "changes": what}


# --- reading -----------------------------------------------------------------------------

@router.get("", response_model=CatalogOut,
            summary="The catalog version in force, as its files (admin; a ward's admin: "
                    "its ward)")
def get_catalog(request: Request, who: Principal = ADMIN) -> dict[str, Any]:
    bo = bo_of(request)
    loaded = versions.load(bo.engine)
    if loaded is None:
        raise not_found("no catalog version is stored yet")
    catalog = dict(loaded.data.get("catalog") or {})
    calendar = dict(loaded.data.get("calendar") or {})
    if who.ward is not None:
        catalog["wards"] = [w for w in catalog.get("wards", []) if w.get("code") == who.ward]
        for key in ("closed", "open"):
            calendar[key] = {k: v for k, v in (calendar.get(key) or {}).items()
                             if k == who.ward}
    return {"version": loaded.version, "catalog": catalog,
            "life_events": loaded.data.get("life_events"), "calendar": calendar,
            "field_kinds": [k.value for k in FieldKind],
            "field_sources": [s.value for s in FieldSource],
            "procedure_groups": list(PROCEDURE_GROUPS),
            "question_kinds": [k.value for k in QuestionKind]}


@router.get("/versions", response_model=list[VersionOut],
            summary="The catalog versions: who changed what, when (admin; a ward's admin: "
                    "its ward's and the city-wide ones)")
def get_versions(request: Request, who: Principal = ADMIN,
                 limit: Annotated[int, Query(ge=1, le=500)] = 50) -> list[dict[str, Any]]:
    bo = bo_of(request)
    return [{"version": r.version, "at": iso(r.at, bo.tz), "actor": r.actor, "ward": r.ward,
             "action": r.action, "changes": list(r.changes)}
            for r in versions.history(bo.engine, who.ward, limit)]


@router.post("/versions/{version}/rollback", response_model=Saved,
             summary="Make an earlier version the one in force again, as a new version "
                     "(city-wide admin: all of it; a ward's admin: its ward's parts)")
async def rollback(version: Annotated[int, Path(ge=1)], body: RollbackIn, request: Request,
                   who: Principal = ADMIN) -> dict[str, Any]:
    bo = bo_of(request)

    def work() -> tuple[Any, list[str]]:
        try:
            with _refusals():  # an old version today's rules refuse: 422 too
                return versions.rollback(bo.engine, version, actor=_actor(request, who),
                                         ward=who.ward, base=body.base_version,
                                         today=_today(bo))
        except KeyError as exc:
            raise not_found(str(exc.args[0])) from None

    return await _saved(bo, run_in_threadpool(work))


# --- a ward: counters, hours, days -----------------------------------------------------------

@router.put("/wards/{ward}/counters/{number}", response_model=Saved,
            summary="Add a counter, or rename it and set the services it serves (admin of "
                    "the ward)")
async def put_counter(ward: WardCode, number: Number, body: CounterIn, request: Request,
                      who: Principal = ADMIN) -> dict[str, Any]:
    return await _ward_change(request, who, ward, "catalog.counter", body.base_version,
                              lambda d: edit.put_counter(d, ward, number, body.name, body.services))


@router.delete("/wards/{ward}/counters/{number}", response_model=Saved,
               summary="Remove a counter from the catalog (admin of the ward)")
async def delete_counter(ward: WardCode, number: Number, request: Request,
                         who: Principal = ADMIN,
                         base_version: Annotated[int | None, Query(ge=0)] = None
                         ) -> dict[str, Any]:
    return await _ward_change(request, who, ward, "catalog.counter_removed", base_version,
                              lambda d: edit.delete_counter(d, ward, number))


@router.put("/wards/{ward}/services", response_model=Saved,
            summary="The services the ward offers (admin of the ward)")
async def put_services(ward: WardCode, body: ServicesIn, request: Request,
                       who: Principal = ADMIN) -> dict[str, Any]:
    return await _ward_change(request, who, ward, "catalog.ward_services", body.base_version,
                              lambda d: edit.set_ward_services(d, ward, body.services))


@router.put("/wards/{ward}/hours", response_model=Saved,
            summary="The ward's weekly opening hours (admin of the ward)")
async def put_hours(ward: WardCode, body: HoursIn, request: Request,
                    who: Principal = ADMIN) -> dict[str, Any]:
    return await _ward_change(request, who, ward, "catalog.hours", body.base_version,
                              lambda d: edit.set_hours(d, ward, body.opens, body.closes,
                                                  sorted(set(body.weekdays))))


@router.put("/wards/{ward}/days", response_model=Saved,
            summary="The ward's own closed days and special openings (休日開庁) (admin of "
                    "the ward)")
async def put_days(ward: WardCode, body: DaysIn, request: Request,
                   who: Principal = ADMIN) -> dict[str, Any]:
    both = set(body.closed) & set(body.open)
    if both:
        raise invalid("validation_error", "a day cannot be both closed and a special "
                      f"opening: {', '.join(sorted(d.isoformat() for d in both))}")
    return await _ward_change(request, who, ward, "catalog.days", body.base_version,
                              lambda d: edit.set_days(d, ward,
                                                      [x.isoformat() for x in body.closed],
                                                      [x.isoformat() for x in body.open]))


# --- city-wide: services, procedures, life events --------------------------------------------

def _given(body: Strict) -> dict[str, Any]:
    return {k: v for k, v in body.model_dump(exclude_unset=True).items()
            if k != "base_version" and v is not None}


async def _patch(request: Request, who: Principal, part: str, code: str,
                 body: ServiceIn | ProcedureIn) -> dict[str, Any]:
    _city_wide(who)
    return await _change(request, who, f"catalog.{part[:-1]}", None, body.base_version,
                         lambda d: edit.patch_table(d, part, code, _given(body)))


@router.patch("/services/{code}", response_model=Saved,
              summary="A service's name, target wait or default service time (city-wide "
                      "admin)")
async def patch_service(code: Code, body: ServiceIn, request: Request,
                        who: Principal = ADMIN) -> dict[str, Any]:
    return await _patch(request, who, "services", code, body)


@router.patch("/procedures/{code}", response_model=Saved,
              summary="A procedure's fee, name, description or form fields (city-wide "
                      "admin)")
async def patch_procedure(code: Code, body: ProcedureIn, request: Request,
                          who: Principal = ADMIN) -> dict[str, Any]:
    return await _patch(request, who, "procedures", code, body)


@router.put("/life-events/{code}", response_model=Saved,
            summary="Add or replace a life event (city-wide admin)")
async def put_life_event(code: Code, body: LifeEventIn, request: Request,
                         who: Principal = ADMIN) -> dict[str, Any]:
    _city_wide(who)
    return await _change(request, who, "catalog.life_event", None, body.base_version,
                         lambda d: edit.put_life_event(d, code, body.event))


@router.delete("/life-events/{code}", response_model=Saved,
               summary="Remove a life event (city-wide admin)")
async def delete_life_event(code: Code, request: Request, who: Principal = ADMIN,
                            base_version: Annotated[int | None, Query(ge=0)] = None
                            ) -> dict[str, Any]:
    _city_wide(who)
    return await _change(request, who, "catalog.life_event_removed", None, base_version,
                         lambda d: edit.delete_life_event(d, code))


async def _add(request: Request, who: Principal, part: str,
               body: ServiceNewIn | ProcedureNewIn) -> dict[str, Any]:
    _city_wide(who)
    return await _change(request, who, f"catalog.{part[:-1]}_added", None, body.base_version,
                         lambda d: edit.add_table(d, part, {"code": body.code, **_given(body)}))


async def _remove(request: Request, who: Principal, part: str, code: str,
                  base: int | None) -> dict[str, Any]:
    """A service or procedure removed: refused while the catalog uses it (catalog_edits)
    or its tickets are open today (catalog_versions.save, in the storing transaction)."""
    _city_wide(who)
    remove = edit.remove_service if part == "services" else edit.remove_procedure
    return await _change(request, who, f"catalog.{part[:-1]}_removed", None, base,
                         lambda d: remove(d, code))


@router.post("/services", response_model=Saved, status_code=201,
             summary="Add a service: a queue with its ticket letter (city-wide admin)")
async def add_service(body: ServiceNewIn, request: Request,
                      who: Principal = ADMIN) -> dict[str, Any]:
    return await _add(request, who, "services", body)


@router.delete("/services/{code}", response_model=Saved,
               summary="Remove a service (city-wide admin): refused while a counter serves "
                       "it, a procedure belongs to it or its tickets are open today")
async def delete_service(code: Code, request: Request, who: Principal = ADMIN,
                         base_version: Annotated[int | None, Query(ge=0)] = None
                         ) -> dict[str, Any]:
    return await _remove(request, who, "services", code, base_version)


@router.post("/procedures", response_model=Saved, status_code=201,
             summary="Add a procedure to a service, with its form fields (city-wide admin)")
async def add_procedure(body: ProcedureNewIn, request: Request,
                        who: Principal = ADMIN) -> dict[str, Any]:
    return await _add(request, who, "procedures", body)


@router.delete("/procedures/{code}", response_model=Saved,
               summary="Remove a procedure (city-wide admin): refused while a life event "
                       "lists it or its tickets are open today")
async def delete_procedure(code: Code, request: Request, who: Principal = ADMIN,
                           base_version: Annotated[int | None, Query(ge=0)] = None
                           ) -> dict[str, Any]:
    return await _remove(request, who, "procedures", code, base_version)
