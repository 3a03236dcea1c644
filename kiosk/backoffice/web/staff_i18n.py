"""The staff pages' language: counter console, supervisor overview, central office view.

Japanese first, never Japanese only. Every word those pages show is a msgid of the `web`
gettext domain (the Japanese text): in templates written as ``{{日本語}}`` (translated by
`assets.render`), in their scripts as ``T("日本語", {placeholder: …})`` — the server
sends the translations of every ``T("…")`` of a page's scripts with the page, so the
wording lives in the catalogs only. A staff member's choice is kept in a cookie for a
year; Japanese when there is none.
"""

from __future__ import annotations

import functools
import html
import json
import re
from collections.abc import Iterable

from fastapi import Request

from kiosk.backoffice.web.assets import STATIC_DIR
from kiosk.backoffice.web.phone import catalog_name, t
from kiosk.domain.catalog import Catalog
from kiosk.i18n import LANGUAGES

COOKIE = "staff_lang"
# やさしい日本語 is for residents; staff read standard Japanese or one of these.
STAFF_LANGUAGES = ("ja", "en", "zh-Hans", "ko", "vi", "pt")
SCRIPT_MSGID = re.compile(r'\bT\("((?:[^"\\]|\\.)+)"')


def staff_language(request: Request) -> str:
    """?lang= (a one-off link), else the remembered choice, else Japanese."""
    for value in (request.query_params.get("lang"), request.cookies.get(COOKIE)):
        if value in STAFF_LANGUAGES:
            return str(value)
    return "ja"


@functools.cache
def script_msgids(names: tuple[str, ...]) -> tuple[str, ...]:
    """Every ``T("…")`` msgid in the named static scripts, in order of appearance."""
    found: dict[str, None] = {}
    for name in names:
        text = (STATIC_DIR / name).read_text(encoding="utf-8")
        for raw in SCRIPT_MSGID.findall(text):
            found[json.loads(f'"{raw}"')] = None
    return tuple(found)


def catalog_names(catalog: Catalog, lang: str) -> dict[str, str]:
    """The catalog's ward, service, counter and procedure names (the API sends them in
    Japanese) → `lang`, so a page's script shows them with T(name) like its own words."""
    tr = t(lang)
    names = {n: catalog_name(n, lang) for n in
             [w.name for w in catalog.wards.values()]
             + [s.name for s in catalog.services.values()]
             + [p.name for p in catalog.procedures.values()]}
    for ward in catalog.wards.values():
        for c in ward.counters:
            names[c.name] = (tr("{counter} 番窓口", counter=c.number)
                             if c.name == f"{c.number}番窓口" else catalog_name(c.name, lang))
    return names


def script_strings(scripts: Iterable[str], lang: str, catalog: Catalog) -> str:
    """JSON {msgid: translation} for a page's scripts and the catalog's names
    (`<body data-strings>`)."""
    tr = t(lang)
    strings = catalog_names(catalog, lang)
    strings.update({msgid: tr(msgid) for msgid in script_msgids(tuple(scripts))})
    return json.dumps(strings, ensure_ascii=False)


def language_form_html(current: str, next_url: str) -> str:
    """The language choice in a page's header: a plain GET form (works without script;
    live.js submits it on change)."""
    tr = t(current)
    options = "".join(
        f'<option value="{html.escape(lang.code)}" lang="{html.escape(lang.bcp47)}"'
        f'{" selected" if lang.code == current else ""}>{html.escape(lang.native)}</option>'
        for lang in LANGUAGES if lang.code in STAFF_LANGUAGES)
    return (f'<form id="lang-form" class="lang-form" method="get" action="/web/language">'
            f'<label for="lang-select">{html.escape(tr("表示言語"))}</label> '
            f'<select id="lang-select" name="lang">{options}</select>'
            f'<input type="hidden" name="next" value="{html.escape(next_url, quote=True)}">'
            f'<button class="btn secondary" type="submit">{html.escape(tr("切り替え"))}</button>'
            f'</form>')


def local_path(value: str | None, default: str = "/console") -> str:
    """A same-site path to go back to; anything else (//evil, https://…) gives `default`."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return default
    return value
