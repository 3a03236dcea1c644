"""和暦 (Japanese era) rendering for forms: date(1985, 3, 7) → 昭和60年3月7日."""

from __future__ import annotations

from datetime import date

# (first day, era name); newest first. The first year of an era is 元年.
ERAS: tuple[tuple[date, str], ...] = (
    (date(2019, 5, 1), "令和"),
    (date(1989, 1, 8), "平成"),
    (date(1926, 12, 25), "昭和"),
    (date(1912, 7, 30), "大正"),
    (date(1868, 10, 23), "明治"),
)


def era_year(d: date) -> tuple[str, int]:
    """The era and year within it; raises ValueError before Meiji."""
    for start, name in ERAS:
        if d >= start:
            return name, d.year - start.year + 1
    raise ValueError(f"{d.isoformat()} is before the Meiji era")


def wareki(d: date, *, gannen: bool = True) -> str:
    name, year = era_year(d)
    y = "元" if (gannen and year == 1) else str(year)
    return f"{name}{y}年{d.month}月{d.day}日"


def seireki(d: date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"
