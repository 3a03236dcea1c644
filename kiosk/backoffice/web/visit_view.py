"""A routed visit on the console (issue #17): the whole route, the current stage, and the
forms of THIS stage only — each stage's clerk sees their own forms and the route."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from kiosk.backoffice.web.application_view import application_sections
from kiosk.backoffice.web.console_view import translated_sections
from kiosk.backoffice.web.phone import catalog_name
from kiosk.domain.catalog import Catalog


def routed_application(ticket: Mapping[str, Any], catalog: Catalog, lang: str,
                       api: str) -> dict[str, Any]:
    """The console's application answer for a routed ticket: every form of the current
    stage laid out one after the other, a PDF link per form, and the route."""
    sections: list[dict[str, Any]] = []
    forms: list[dict[str, str]] = []
    purged = ticket.get("application_purged")
    if purged:
        laid = translated_sections(application_sections(ticket, catalog), ticket, catalog, lang)
        sections += laid["sections"]
    for app in ticket.get("applications") or ():
        laid = translated_sections(application_sections({**ticket, "application": app},
                                                        catalog), ticket, catalog, lang)
        if laid.get("title"):
            sections.append({"heading": str(laid["title"]), "rows": []})
        sections += laid["sections"]
        code = str(app.get("procedure"))
        name = catalog.procedures[code].name if code in catalog.procedures else code
        forms.append({"procedure": code, "name": catalog_name(name, lang),
                      "url": f"{api}/tickets/{ticket['id']}/form.pdf?procedure={quote(code)}"})
    route = [{**s, "service_name": catalog_name(s["service_name"], lang),
              "procedure_names": [catalog_name(catalog.procedures[p].name, lang)
                                  if p in catalog.procedures else p
                                  for p in s["procedures"]]}
             for s in ticket.get("route") or ()]
    return {"title": None, "sections": sections, "forms": forms,
            "form_pdf": forms[0]["url"] if forms else None,
            "route": route, "stage": ticket.get("stage")}
