"""A routed visit on the resident's phone page (issue #17): the stages in order with where
to go next, and the 手続き案内票 — every procedure of the life event, what to bring and
where (this office, another office, online). Translated here like the rest of the page;
only catalog names, numbers and states: nothing personal."""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

from kiosk.backoffice.web.phone import catalog_name, t

_STAGE_WORDS = {"done": "済み", "skipped": "省略", "waiting": "これから", "called": "お呼び出し中",
                "serving": "対応中"}
_PLACE_WORDS = {"here": "この庁舎で", "online": "オンラインで"}


def route_view(status: Mapping[str, Any], lang: str) -> dict[str, Any]:
    """`route_html`, `guide_html` (escaped here) and `next_text` for the phone page."""
    tr = t(lang)
    route = status.get("route") or []
    current = status.get("stage")
    items = []
    next_text = ""
    for s in route:
        here = s["seq"] == current and status.get("status") not in ("done", "cancelled")
        word = tr("今ここ") if here and s["status"] == "waiting" else tr(_STAGE_WORDS.get(
            s["status"], s["status"]))
        name = catalog_name(str(s["service_name"]), lang)
        mark = ' class="route-stage current" aria-current="step"' if here else (
            ' class="route-stage"')
        items.append(f'<li{mark} data-status="{html.escape(s["status"])}">'
                     f"{html.escape(name)} — {html.escape(word)}</li>")
        if here and s["status"] == "waiting":
            next_text = (tr("{service} の窓口の前でお待ちください", service=name)
                         if s["seq"] > 1 else "")
    guide = status.get("guide") or []
    lines = []
    for g in guide:
        place = (tr("{office} で", office=catalog_name(str(g["office"]), lang))
                 if g.get("place") == "other" and g.get("office")
                 else tr(_PLACE_WORDS.get(str(g.get("place")), "この庁舎で")))
        bring = [catalog_name(str(b), lang) for b in g.get("bring") or []]
        parts = [f"<strong>{html.escape(catalog_name(str(g['name']), lang))}</strong>",
                 html.escape(place)]
        if bring:
            parts.append(html.escape(tr("持ち物: {items}", items=tr("、").join(bring))))
        if g.get("url"):
            url = html.escape(str(g["url"]))
            parts.append(f'<a href="{url}" rel="noopener noreferrer">{url}</a>')
        lines.append("<li>" + " — ".join(parts) + "</li>")
    return {
        "route_html": (f'<h2>{html.escape(tr("手続きの順番"))}</h2>'
                       f'<ol class="route-list">{"".join(items)}</ol>') if route else "",
        "guide_html": (f'<h2>{html.escape(tr("手続き案内票"))}</h2>'
                       f'<ul class="guide-list">{"".join(lines)}</ul>') if guide else "",
        "next_text": next_text,
    }
