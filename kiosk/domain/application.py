"""The application record: the form the resident did not have to write.

One shape travels the whole way — built by the kiosk's session, sent through the sync
outbox, stored by the back-office with the ticket, shown on the counter console and
rendered as the PDF form — so nobody re-types anything. `to_dict()` is its JSON form.

The 個人番号 never appears in it: a my_number field holds a `MyNumberCheck` (masked
number + check-digit result) instead; see `kiosk.domain.my_number`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any, TypeVar

from kiosk.domain.catalog import FieldKind, FieldSource, FormField, Procedure
from kiosk.domain.my_number import MyNumberCheck, is_masked

SEX_CODES = ("0", "1", "2", "9")  # JIS X 0303: unknown, male, female, not applicable

FieldValue = str | int | tuple[str, ...] | MyNumberCheck


class Identity(StrEnum):
    """How the applicant's own data (the basic four) was obtained."""

    CARD = "card"        # read from the My Number card after PIN
    TYPED = "typed"      # entered by the resident on the kiosk keyboard
    ASSISTED = "assisted"  # "ask staff": staff fill it in at the counter


class Authenticity(StrEnum):
    GENUINE = "genuine"
    NOT_VERIFIABLE = "not_verifiable"
    TAMPERED = "tampered"


class CardKey(StrEnum):
    """Which key opened the card's 券面事項入力補助AP (kiosk.domain.card_check)."""

    PIN = "pin"          # the 4-digit 券面事項入力補助用暗証番号
    CODE_B = "code_b"    # 照合番号B: birth date + expiry year + security code


class ApplicationError(ValueError):
    """A field value does not fit the procedure's form."""

    def __init__(self, key: str, problem: str) -> None:
        self.key = key
        self.problem = problem
        super().__init__(f"{key}: {problem}")


def _check(f: FormField, value: object) -> FieldValue:
    kind = f.kind
    if kind is FieldKind.MY_NUMBER:
        if isinstance(value, MyNumberCheck):
            return value
        if isinstance(value, Mapping) and set(value) == {"masked", "check_digit_ok"}:
            masked, ok = value["masked"], value["check_digit_ok"]
            if isinstance(masked, str) and is_masked(masked) and isinstance(ok, bool):
                return MyNumberCheck(masked=masked, check_digit_ok=ok)
        raise ApplicationError(f.key, "must be a masked number check (\"********\" and the "
                               "last four digits), never the number itself")
    if kind in (FieldKind.COUNT, FieldKind.YEAR):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ApplicationError(f.key, "must be a whole number")
        low = 1 if kind is FieldKind.COUNT else 1900
        if value < low or (f.max is not None and value > f.max):
            raise ApplicationError(f.key, f"must be between {low} and {f.max or 'any'}")
        return value
    if kind is FieldKind.FLAGS:
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise ApplicationError(f.key, "must be a list of choices")
        unknown = [v for v in value if v not in f.choices]
        if unknown:
            raise ApplicationError(f.key, f"unknown choice(s): {', '.join(unknown)}")
        return tuple(dict.fromkeys(value))  # keep order, drop repeats
    if not isinstance(value, str):
        raise ApplicationError(f.key, "must be text")
    text = value.strip()
    if f.required and not text:
        raise ApplicationError(f.key, "is required")
    if len(text) > 200:
        raise ApplicationError(f.key, "is too long (at most 200 characters)")
    if kind is FieldKind.CHOICE and text not in f.choices:
        raise ApplicationError(f.key, f"must be one of {', '.join(f.choices)}")
    if kind is FieldKind.SEX and text not in SEX_CODES:
        raise ApplicationError(f.key, f"must be a sex code {'/'.join(SEX_CODES)}")
    if kind is FieldKind.DATE:
        try:
            date.fromisoformat(text)
        except ValueError:
            raise ApplicationError(f.key, "must be a date YYYY-MM-DD") from None
    return text


def _known_keys(procedure: Procedure, values: Mapping[str, object]) -> None:
    allowed = {f.key for f in procedure.fields}
    for key in values:
        if key not in allowed:
            raise ApplicationError(str(key), f"is not a field of {procedure.code}")


def check_values(procedure: Procedure, values: Mapping[str, object]) -> dict[str, FieldValue]:
    """Validate every value against the procedure's form; unknown keys are refused."""
    _known_keys(procedure, values)
    out: dict[str, FieldValue] = {}
    for f in procedure.fields:
        if f.key in values and values[f.key] is not None:
            out[f.key] = _check(f, values[f.key])
        elif f.default is not None:
            out[f.key] = _check(f, f.default)
        elif f.required and f.source is not FieldSource.MY_NUMBER:
            raise ApplicationError(f.key, "is required")
    return out


def _json(value: FieldValue) -> object:
    if isinstance(value, MyNumberCheck):
        return value.to_dict()
    if isinstance(value, tuple):
        return list(value)
    return value


@dataclass(frozen=True)
class Application:
    procedure: str
    values: Mapping[str, FieldValue]
    identity: Identity
    language: str = "ja"
    authenticity: Authenticity | None = None
    notes: tuple[str, ...] = field(default=())
    card_key: CardKey | None = None   # only with Identity.CARD

    @classmethod
    def build(cls, procedure: Procedure, values: Mapping[str, object], identity: Identity,
              *, language: str = "ja", authenticity: Authenticity | None = None,
              notes: tuple[str, ...] = (), card_key: CardKey | None = None) -> Application:
        if card_key is not None and identity is not Identity.CARD:
            raise ApplicationError("card_key", "only an application read from a card has one")
        if identity is Identity.ASSISTED:
            _known_keys(procedure, values)
            # Staff will fill the form in; keep only what the resident chose at the kiosk.
            values = {k: v for k, v in values.items()
                      if procedure.field(k).source is FieldSource.RESIDENT}
            checked = {k: _check(procedure.field(k), v) for k, v in values.items()}
        else:
            checked = check_values(procedure, values)
        return cls(procedure=procedure.code, values=checked, identity=identity,
                   language=language, authenticity=authenticity, notes=notes,
                   card_key=card_key)

    def copies(self) -> int:
        value = self.values.get("copies", 1)
        return value if isinstance(value, int) else 1

    def fee(self, procedure: Procedure) -> int:
        purpose = self.values.get("purpose")
        return procedure.fee(self.copies(), purpose if isinstance(purpose, str) else None)

    def to_dict(self) -> dict[str, Any]:
        extra = {"card_key": self.card_key.value} if self.card_key is not None else {}
        return {**extra,
            "procedure": self.procedure,
            "identity": self.identity.value,
            "language": self.language,
            "authenticity": self.authenticity.value if self.authenticity else None,
            "values": {k: _json(v) for k, v in self.values.items()},
            "notes": list(self.notes),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], procedure: Procedure) -> Application:
        if data.get("procedure") != procedure.code:
            raise ApplicationError("procedure", f"expected {procedure.code!r}")
        identity = _enum(Identity, data.get("identity"), "identity")
        auth_raw, key_raw = data.get("authenticity"), data.get("card_key")
        authenticity = _enum(Authenticity, auth_raw, "authenticity") \
            if auth_raw is not None else None
        card_key = _enum(CardKey, key_raw, "card_key") if key_raw is not None else None
        values = data.get("values")
        if not isinstance(values, Mapping):
            raise ApplicationError("values", "must be an object")
        notes = data.get("notes", [])
        if not isinstance(notes, list) or not all(isinstance(n, str) for n in notes):
            raise ApplicationError("notes", "must be a list of text")
        language = data.get("language", "ja")
        if not isinstance(language, str):
            raise ApplicationError("language", "must be text")
        return cls.build(procedure, values, identity, language=language,
                         authenticity=authenticity, notes=tuple(notes), card_key=card_key)


E = TypeVar("E", bound=StrEnum)


def _enum(kind: type[E], raw: object, key: str) -> E:
    """One of the enum's values, else an ApplicationError naming the key (→ 422)."""
    if isinstance(raw, str):
        try:
            return kind(raw)
        except ValueError:
            pass
    allowed = ", ".join(e.value for e in kind)
    raise ApplicationError(key, f"must be one of {allowed}")
