"""The procedure catalog: services (queues), wards with their counters, procedures.

Pure data and validation; reading the TOML file is `kiosk.configfile`'s job. Names are
stored in Japanese, the source language of the translation catalogs: the UI passes them
through `kiosk.i18n` to show them in the resident's language.

Services are city-wide (the 本庁 sets one standard for every ward); each ward chooses
which services it offers and which counters serve them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from enum import StrEnum
from typing import Any

from kiosk.domain.appointments import AppointmentRules, appointment_rules
from kiosk.domain.errors import ConfigError
from kiosk.domain.remote import RemoteRules, remote_rules
from kiosk.domain.section import Section


class FieldSource(StrEnum):
    """Where a form field's value comes from."""

    CARD = "card"          # read from the My Number card's basic four (name, address, …)
    RESIDENT = "resident"  # chosen or typed by the resident at the kiosk
    MY_NUMBER = "my_number"  # the 12-digit 個人番号 (read only for forms that need it)


class FieldKind(StrEnum):
    TEXT = "text"
    KANA = "kana"
    NAME = "name"
    ADDRESS = "address"
    DATE = "date"
    SEX = "sex"
    COUNT = "count"
    YEAR = "year"
    CHOICE = "choice"
    FLAGS = "flags"
    MY_NUMBER = "my_number"


# Fields the card's 券面事項入力補助AP can fill (the basic four).
CARD_FIELDS = {"name": FieldKind.NAME, "address": FieldKind.ADDRESS,
               "birth_date": FieldKind.DATE, "sex": FieldKind.SEX}

PROCEDURE_GROUPS = ("certificates", "moving", "family", "insurance", "tax", "other")


@dataclass(frozen=True)
class FormField:
    key: str
    label: str
    kind: FieldKind
    source: FieldSource
    required: bool = True
    choices: tuple[str, ...] = ()
    default: str | int | tuple[str, ...] | None = None
    max: int | None = None


@dataclass(frozen=True)
class Procedure:
    code: str
    name: str
    group: str
    service: str
    fee_yen: int
    fee_per_copy: bool
    signature: bool
    card_update: bool
    fields: tuple[FormField, ...]
    fee_exempt_purposes: tuple[str, ...] = ()
    description: str = ""

    @property
    def needs_my_number(self) -> bool:
        """True only when the form itself carries a 個人番号 field (番号法 Art. 19/20)."""
        return any(f.source is FieldSource.MY_NUMBER for f in self.fields)

    @property
    def card_fields(self) -> tuple[FormField, ...]:
        return tuple(f for f in self.fields if f.source is FieldSource.CARD)

    @property
    def resident_fields(self) -> tuple[FormField, ...]:
        return tuple(f for f in self.fields if f.source is FieldSource.RESIDENT)

    def field(self, key: str) -> FormField:
        for f in self.fields:
            if f.key == key:
                return f
        raise KeyError(key)

    def fee(self, copies: int = 1, purpose: str | None = None) -> int:
        """Fee in yen. The back-office is the authority; the kiosk only displays this."""
        if purpose is not None and purpose in self.fee_exempt_purposes:
            return 0
        return self.fee_yen * max(copies, 1) if self.fee_per_copy else self.fee_yen


@dataclass(frozen=True)
class Service:
    """A queue. Tickets are numbered per ward, per service, per day: ``A-012``."""

    code: str
    prefix: str
    name: str
    target_wait_minutes: int
    default_service_minutes: float
    appointments: AppointmentRules | None = None  # [services.appointments]: takes bookings
    remote: RemoteRules | None = None  # [services.remote]: a place in the queue from home


@dataclass(frozen=True)
class Counter:
    number: int
    name: str
    services: tuple[str, ...]


@dataclass(frozen=True)
class OpeningHours:
    opens: time
    closes: time
    weekdays: tuple[int, ...]  # Monday = 0

    def is_open(self, weekday: int, at: time) -> bool:
        return weekday in self.weekdays and self.opens <= at < self.closes


@dataclass(frozen=True)
class Ward:
    code: str
    name: str
    services: tuple[str, ...]
    counters: tuple[Counter, ...]
    hours: OpeningHours
    postcode: str = ""
    city: str = ""


@dataclass(frozen=True)
class Catalog:
    services: Mapping[str, Service]
    wards: Mapping[str, Ward]
    procedures: Mapping[str, Procedure]
    source: str = field(default="", compare=False)
    # The mapping it was validated from (catalog.toml's tables): what a new catalog version
    # edits and stores (kiosk.backoffice.catalog_versions). Empty when built by hand.
    data: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def ward(self, code: str) -> Ward:
        return self.wards[code]

    def service(self, code: str) -> Service:
        return self.services[code]

    def procedure(self, code: str) -> Procedure:
        return self.procedures[code]

    def procedures_in(self, ward_code: str) -> tuple[Procedure, ...]:
        offered = set(self.wards[ward_code].services)
        return tuple(p for p in self.procedures.values() if p.service in offered)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], file: str = "catalog.toml") -> Catalog:
        root = Section(data, file)
        root.unknown_keys(("services", "wards", "procedures"))
        services = _unique(root, "services", (_service(s) for s in root.sections("services")))
        prefixes: dict[str, str] = {}
        for svc in services.values():
            if svc.prefix in prefixes:
                raise ConfigError(file, "services", f"prefix {svc.prefix!r} is used by both "
                                  f"{prefixes[svc.prefix]!r} and {svc.code!r}")
            prefixes[svc.prefix] = svc.code
        wards = _unique(root, "wards", (_ward(s, services) for s in root.sections("wards")))
        procedures = _unique(root, "procedures",
                             (_procedure(s, services) for s in root.sections("procedures")))
        return cls(services=services, wards=wards, procedures=procedures, source=file,
                   data=data)


_CODE = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def _code(s: Section, name: str = "code") -> str:
    value = s.text(name)
    if not _CODE.match(value):
        raise s.error(name, "must be lower-case ASCII letters, digits, '-' or '_' "
                      f"(at most 32, starting with a letter), got {value!r}")
    return value


def _unique(root: Section, name: str, items: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items:
        if item.code in out:
            raise root.error(name, f"code {item.code!r} appears twice")
        out[item.code] = item
    return out


def _service(s: Section) -> Service:
    s.unknown_keys(("code", "prefix", "name", "target_wait_minutes", "default_service_minutes",
                    "appointments", "remote"))
    prefix = s.text("prefix")
    if not re.fullmatch(r"[A-Z]", prefix):
        raise s.error("prefix", f"must be one upper-case letter A-Z, got {prefix!r}")
    return Service(
        code=_code(s), prefix=prefix, name=s.text("name"),
        target_wait_minutes=s.integer("target_wait_minutes", 20, min=1),
        default_service_minutes=s.number("default_service_minutes", 5.0, min=0.5),
        appointments=(appointment_rules(s.section("appointments"))
                      if s.has("appointments") else None),
        remote=remote_rules(s.section("remote")) if s.has("remote") else None,
    )


def _hhmm(s: Section, name: str, default: str) -> time:
    value = s.text(name, default)
    m = _HHMM.match(value)
    if not m:
        raise s.error(name, f"must be HH:MM (24-hour), got {value!r}")
    return time(int(m.group(1)), int(m.group(2)))


def _ward(s: Section, services: Mapping[str, Service]) -> Ward:
    s.unknown_keys(("code", "name", "services", "counters", "opens", "closes", "weekdays",
                    "postcode", "city"))
    offered = s.texts("services")
    for code in offered:
        if code not in services:
            raise s.error("services", f"unknown service {code!r} (defined: {', '.join(services)})")
    counters: list[Counter] = []
    for c in s.sections("counters"):
        c.unknown_keys(("number", "name", "services"))
        serves = c.texts("services")
        for code in serves:
            if code not in offered:
                raise c.error("services", f"service {code!r} is not offered by this ward")
        number = c.integer("number", min=1, max=999)
        if any(x.number == number for x in counters):
            raise c.error("number", f"counter {number} appears twice in this ward")
        counters.append(Counter(number=number, name=c.text("name", f"{number}番窓口"),
                                services=serves))
    weekdays = tuple(s.integers("weekdays")) if s.has("weekdays") else (0, 1, 2, 3, 4)
    hours = OpeningHours(_hhmm(s, "opens", "08:45"), _hhmm(s, "closes", "17:15"), weekdays)
    if hours.opens >= hours.closes:
        raise s.error("closes", "must be later than opens")
    return Ward(code=_code(s), name=s.text("name"), services=offered, counters=tuple(counters),
                hours=hours, postcode=s.text("postcode", ""), city=s.text("city", ""))


def _field(s: Section) -> FormField:
    s.unknown_keys(("key", "label", "kind", "source", "required", "choices", "default", "max"))
    key = s.text("key")
    kind = FieldKind(s.text("kind", choices=[k.value for k in FieldKind]))
    source = FieldSource(s.text("source", choices=[k.value for k in FieldSource]))
    if source is FieldSource.CARD and key not in CARD_FIELDS:
        raise s.error("source", f"the card only provides {', '.join(CARD_FIELDS)}; "
                      f"field {key!r} cannot come from it")
    if (kind is FieldKind.MY_NUMBER) != (source is FieldSource.MY_NUMBER):
        raise s.error("kind", "kind my_number goes with source my_number and only with it")
    choices = s.texts("choices", ())
    if kind in (FieldKind.CHOICE, FieldKind.FLAGS) and not choices:
        raise s.error("choices", f"a {kind.value} field needs choices")
    default: str | int | tuple[str, ...] | None = None
    if s.has("default"):
        raw = s.data["default"]
        if kind is FieldKind.FLAGS:
            default = s.texts("default")
            bad = [d for d in default if d not in choices]
        elif kind in (FieldKind.COUNT, FieldKind.YEAR):
            default = s.integer("default", min=0)
            bad = []
        else:
            default = s.text("default")
            bad = [default] if choices and default not in choices else []
        if bad:
            raise s.error("default", f"{raw!r} is not among the choices")
    return FormField(key=key, label=s.text("label"), kind=kind, source=source,
                     required=s.flag("required", True), choices=choices, default=default,
                     max=s.integer("max", min=1) if s.has("max") else None)


def _procedure(s: Section, services: Mapping[str, Service]) -> Procedure:
    s.unknown_keys(("code", "name", "group", "service", "fee_yen", "fee_per_copy", "signature",
                    "card_update", "fields", "fee_exempt_purposes", "description"))
    service = s.text("service")
    if service not in services:
        raise s.error("service", f"unknown service {service!r} (defined: {', '.join(services)})")
    fields = tuple(_field(f) for f in s.sections("fields"))
    keys = [f.key for f in fields]
    dupes = {k for k in keys if keys.count(k) > 1}
    if dupes:
        raise s.error("fields", f"field key(s) {', '.join(sorted(dupes))} appear twice")
    exempt = s.texts("fee_exempt_purposes", ())
    if exempt:
        purpose = next((f for f in fields if f.key == "purpose"), None)
        if purpose is None or any(p not in purpose.choices for p in exempt):
            raise s.error("fee_exempt_purposes", "must name choices of the form's purpose field")
    return Procedure(
        code=_code(s), name=s.text("name"), group=s.text("group", choices=PROCEDURE_GROUPS),
        service=service, fee_yen=s.integer("fee_yen", 0, min=0),
        fee_per_copy=s.flag("fee_per_copy", False), signature=s.flag("signature", True),
        card_update=s.flag("card_update", False), fields=fields,
        fee_exempt_purposes=exempt, description=s.text("description", ""),
    )
