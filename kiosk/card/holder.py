"""The basic four (基本4情報) as read from EF 0002, as a data model for forms."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from kiosk.card import tlv
from kiosk.card.errors import CardDataError
from kiosk.domain.wareki import wareki

IDEOGRAPHIC_SPACE = "\u3000"

TAG_HOLDER = 0xFF20
TAG_OFFSETS = 0xDF21
TAG_NAME = 0xDF22
TAG_ADDRESS = 0xDF23
TAG_BIRTH_DATE = 0xDF24
TAG_SEX = 0xDF25


class Sex(StrEnum):
    """JIS X 0303 codes, as the card stores them."""

    UNKNOWN = "0"
    MALE = "1"
    FEMALE = "2"
    NOT_APPLICABLE = "9"

    @property
    def label_ja(self) -> str:
        """Also the msgid for kiosk.i18n."""
        return _LABELS[self][0]

    @property
    def label_en(self) -> str:
        return _LABELS[self][1]


_LABELS = {
    Sex.UNKNOWN: ("不明", "unknown"),
    Sex.MALE: ("男", "male"),
    Sex.FEMALE: ("女", "female"),
    Sex.NOT_APPLICABLE: ("適用不能", "not applicable"),
}


@dataclass(frozen=True, repr=False)
class Holder:
    name: str
    address: str
    birth_date: date | None     # None when the card's date is not a full calendar date
    birth_date_raw: str         # the card's YYYYMMDD, kept for such partial dates
    sex: Sex

    def __repr__(self) -> str:  # personal data stays out of tracebacks and logs
        return "Holder(<personal data>)"

    @property
    def family_name(self) -> str:
        return self.name.split(IDEOGRAPHIC_SPACE, 1)[0]

    @property
    def given_name(self) -> str:
        parts = self.name.split(IDEOGRAPHIC_SPACE, 1)
        return parts[1] if len(parts) == 2 else ""

    @property
    def birth_date_wareki(self) -> str:
        """昭和60年3月7日; the raw digits if the date is partial or before Meiji."""
        if self.birth_date is None:
            return self.birth_date_raw
        try:
            return wareki(self.birth_date)
        except ValueError:
            return self.birth_date_raw

    def form_values(self) -> dict[str, str]:
        """The catalog's card fields (`kiosk.domain.catalog.CARD_FIELDS`), ready for
        `Application.build`; a partial birth date is left out for staff to complete."""
        values = {"name": self.name, "address": self.address, "sex": self.sex.value}
        if self.birth_date is not None:
            values["birth_date"] = self.birth_date.isoformat()
        return values

    def to_dict(self) -> dict[str, str | None]:
        """Form values, keyed as in the catalog's card fields."""
        return {
            "name": self.name,
            "family_name": self.family_name,
            "given_name": self.given_name,
            "address": self.address,
            "birth_date": self.birth_date.isoformat() if self.birth_date else None,
            "birth_date_wareki": self.birth_date_wareki,
            "sex": self.sex.value,
            "sex_label_ja": self.sex.label_ja,
            "sex_label_en": self.sex.label_en,
        }


def _text(item: tlv.Tlv, what: str) -> str:
    try:
        return item.value.decode("utf-8")
    except UnicodeDecodeError:
        raise CardDataError(f"{what} is not UTF-8") from None


def holder_value_span(ef0002: bytes) -> tuple[int, int]:
    """(start, end) of the FF20 value inside the file's bytes."""
    outer = tlv.parse_one(ef0002)
    if outer.tag != TAG_HOLDER:
        raise CardDataError(f"EF 0002 starts with tag {outer.tag:X}, expected FF20")
    return outer.end - len(outer.value), outer.end


def parse_holder(ef0002: bytes) -> Holder:
    """Parse EF 0002 by its TLV structure (never by fixed offsets)."""
    start, end = holder_value_span(ef0002)
    items: dict[int, tlv.Tlv] = {}
    for item in tlv.iterate(ef0002, start, end):
        items.setdefault(item.tag, item)
    missing = [t for t in (TAG_NAME, TAG_ADDRESS, TAG_BIRTH_DATE, TAG_SEX) if t not in items]
    if missing:
        raise CardDataError("EF 0002 lacks " + ", ".join(f"{t:X}" for t in missing))
    name = _text(items[TAG_NAME], "name").strip()
    address = _text(items[TAG_ADDRESS], "address").strip()
    raw_date = _text(items[TAG_BIRTH_DATE], "birth date")
    if len(raw_date) != 8 or not raw_date.isascii() or not raw_date.isdigit():
        raise CardDataError("birth date is not YYYYMMDD")
    try:
        birth: date | None = date(int(raw_date[:4]), int(raw_date[4:6]), int(raw_date[6:]))
    except ValueError:
        birth = None
    try:
        sex = Sex(_text(items[TAG_SEX], "sex"))
    except ValueError:
        raise CardDataError("sex code is not 0, 1, 2 or 9") from None
    if not name:
        raise CardDataError("name is empty")
    return Holder(name=name, address=address, birth_date=birth, birth_date_raw=raw_date,
                  sex=sex)


def signed_span(ef0002: bytes) -> bytes:
    """EF 0002 from DF22 to the end of FF20: what EF 0003's DF32 digest covers."""
    start, end = holder_value_span(ef0002)
    for item in tlv.iterate(ef0002, start, end):
        if item.tag == TAG_NAME:
            return ef0002[item.start:end]
    raise CardDataError("EF 0002 lacks DF22")
