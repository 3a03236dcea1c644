"""What the counter console shows about the current ticket, in the clerk's language.

The application is laid out as the printed form reads (`application_view`); here its
title, headings and labels are translated for a clerk who reads the console in another
language. The values stay as the resident gave them — they are the resident's data and
the printed form shows them so — except a chosen option the catalogs translate (「世帯全員」).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kiosk.backoffice.web.application_view import purged_section
from kiosk.backoffice.web.phone import catalog_name, t
from kiosk.domain.catalog import Catalog
from kiosk.i18n import LANGUAGES, Translator

PAYMENT_WORDS = {"none": "未払い", "pending": "支払い手続き中", "paid": "キャッシュレスで支払済",
                 "failed": "支払い失敗 — 窓口で精算", "canceled": "支払い取消 — 窓口で精算"}
PRIORITY_WORDS = {"priority": "優先", "appointment": "予約", "assistance": "要支援"}


def ticket_summary(ticket: Mapping[str, Any], catalog: Catalog, lang: str = "ja") -> list[str]:
    """One line of what the clerk should know before the resident sits down: procedure,
    priority, the resident's language, the fee and whether it is paid already."""
    tr = t(lang)
    parts: list[str] = []
    procedure = catalog.procedures.get(str(ticket.get("procedure")))
    if procedure is not None:
        parts.append(catalog_name(procedure.name, lang))
    if ticket.get("priority") in PRIORITY_WORDS:
        parts.append(tr(PRIORITY_WORDS[str(ticket["priority"])]))
    resident = str(ticket.get("language") or "ja")
    if resident not in ("ja", "ja-easy"):
        known = {x.code.split("-")[0]: x.native for x in LANGUAGES}
        parts.append(tr("言語: {language}", language=known.get(resident.split("-")[0], resident)))
    elif resident == "ja-easy":
        parts.append(tr("やさしい日本語"))
    fee = ticket.get("fee_yen")
    if isinstance(fee, int) and fee > 0:
        status = str(ticket.get("payment_status"))
        paid = tr(PAYMENT_WORDS[status]) if status in PAYMENT_WORDS else status
        parts.append(tr("手数料 {fee}円({paid})", fee=f"{fee:,}", paid=paid))
    return parts


def _word(text: str, tr: Translator, lang: str) -> str:
    """A form word: the web catalog, else the kiosk's (which has the forms' field labels)."""
    translated = tr(text)
    return translated if translated != text else catalog_name(text, lang)


def _value(row: Mapping[str, Any], tr: Translator, lang: str) -> str:
    """A form value for a clerk reading another language: dates, counts and the fee in
    that language's words (the printed form's 和暦 and 「通」「円」 are for Japanese
    readers); a chosen option the catalogs know translated; the resident's own words as
    given."""
    raw, key = row.get("raw"), row.get("key")
    if row.get("staff_word"):
        return tr(str(row.get("value") or ""))  # the console's own words (the card check)
    if row.get("kind") == "date" and isinstance(raw, str):
        return raw  # ISO 8601: 1985-03-07
    if key == "copies" and isinstance(raw, int):
        return tr("{n}通", n=raw)
    if key == "fee_yen" and isinstance(raw, int):
        return tr("{fee}円", fee=f"{raw:,}") if raw else tr("無料")
    if row.get("kind") == "year" and isinstance(raw, int):
        return tr("{year}年度", year=raw)
    value = str(row.get("value") or "")
    return catalog_name(value, lang) if value else value


def translated_sections(laid_out: Mapping[str, Any], ticket: Mapping[str, Any],
                        catalog: Catalog, lang: str) -> dict[str, Any]:
    """`application_sections`' output with the form's own words in `lang` (as is for ja)."""
    if lang == "ja":
        return dict(laid_out)
    tr = t(lang)
    if laid_out.get("purged"):
        section = purged_section(laid_out["purged"], tr)
        return {**laid_out, "sections": [{
            "heading": _word(section["heading"], tr, lang),
            "rows": [{"label": _word(r["label"], tr, lang), "value": r["value"]}
                     for r in section["rows"]]}]}
    title = laid_out.get("title")
    if title:
        application = ticket.get("application") or {}
        procedure = catalog.procedures.get(str(application.get("procedure")))
        name = catalog_name(procedure.name, lang) if procedure else ""
        title = tr("{procedure} — 申請書", procedure=name) if name else tr("申請書")
    sections = [{"heading": _word(s["heading"], tr, lang),
                 "rows": [{**r, "label": _word(r["label"], tr, lang),
                           "value": _value(r, tr, lang)} for r in s["rows"]]}
                for s in laid_out.get("sections", [])]
    return {**laid_out, "title": title, "sections": sections}
