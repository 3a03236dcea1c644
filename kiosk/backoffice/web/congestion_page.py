"""The public congestion page /congestion/<ward> (issue #19): the JSON of
/api/v1/public/congestion/<ward> (asked in-process, like the phone page asks the status)
in the resident's language. No sign-in and nothing personal; cacheable for
`[public] cache_seconds` (ETag); embeddable only by the sites in `[public] frame_ancestors`.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from kiosk.backoffice.routes.congestion import cache_headers
from kiosk.backoffice.web import internal
from kiosk.backoffice.web.assets import render
from kiosk.backoffice.web.phone import catalog_name, choose_language, language_options, t
from kiosk.backoffice.web.routes import API, CSP, NO_STORE
from kiosk.i18n import Translator

router = APIRouter(include_in_schema=False)

LEVEL_WORDS = {"free": "空いています", "somewhat": "やや混雑", "busy": "混雑"}
LEVEL_MARKS = {"free": "○", "somewhat": "△", "busy": "×"}
HISTORY_TEXT = "見込みといつもの混み具合は、過去 {weeks} 週間 ({days} 日) の受付から計算しています"
WEEKDAYS = ("月", "火", "水", "木", "金", "土", "日")


def language_form_html(lang: str, action: str = "") -> str:
    """The public pages' language choice: a plain GET form (works without script)."""
    tr = t(lang)
    return (f'<form class="lang" method="get" action="{html.escape(action)}">'
            f'<label class="visually-hidden" for="lang-select">{html.escape(tr("言語"))}</label>'
            f'<select id="lang-select" name="lang">{language_options(lang)}</select>'
            f'<button type="submit" class="btn secondary">{html.escape(tr("切り替え"))}</button>'
            "</form>")


def level_html(level: str | None, tr: Translator, *, short: bool = False) -> str:
    if level not in LEVEL_WORDS:
        return "—"
    word = html.escape(tr(LEVEL_WORDS[level]))
    if short:  # a table cell: the mark, its word for a screen reader
        return (f'<span class="level level-{level}" aria-hidden="true">{LEVEL_MARKS[level]}'
                f'</span><span class="visually-hidden">{word}</span>')
    return f'<span class="level level-{level}">{LEVEL_MARKS[level]} {word}</span>'


def minutes_text(seconds: int | None, tr: Translator) -> str:
    if seconds is None:
        return "—"
    return tr("約 {minutes} 分", minutes=max(0, math.ceil(seconds / 60)))


def _hour_table(caption: str, cells: Sequence[Mapping[str, Any]], tr: Translator) -> str:
    if not cells:
        return ""
    rows = "".join(
        f'<tr><th scope="row">{c["hour"]}:00</th>'
        f'<td>{"—" if c["issued"] is None else format(c["issued"], "g")}</td>'
        f'<td>{html.escape(minutes_text(c["mean_wait_seconds"], tr))}</td>'
        f'<td>{level_html(c["level"], tr)}</td></tr>' for c in cells)
    return (f"<table><caption>{html.escape(caption)}</caption><thead><tr>"
            f'<th scope="col">{html.escape(tr("時間帯"))}</th>'
            f'<th scope="col">{html.escape(tr("受付人数"))}</th>'
            f'<th scope="col">{html.escape(tr("待ち時間"))}</th>'
            f'<th scope="col">{html.escape(tr("混雑度"))}</th></tr></thead>'
            f"<tbody>{rows}</tbody></table>")


def _week_table(week: Sequence[Mapping[str, Any]], hours: Sequence[int], tr: Translator) -> str:
    if not week:
        return ""
    head = "".join(f'<th scope="col">{html.escape(tr(WEEKDAYS[d["weekday"]]))}</th>'
                   for d in week)
    body = "".join(
        f'<tr><th scope="row">{h}:00</th>'
        + "".join(f"<td>{level_html(d['hours'][i]['level'], tr, short=True)}</td>" for d in week)
        + "</tr>" for i, h in enumerate(hours))
    return (f'<table class="week"><caption>{html.escape(tr("いつもの混み具合 (曜日・時間帯)"))}'
            f'</caption><thead><tr><th scope="col">{html.escape(tr("時間帯"))}</th>{head}'
            f"</tr></thead><tbody>{body}</tbody></table>")


def services_html(data: Mapping[str, Any], lang: str) -> str:
    tr = t(lang)
    out = []
    for s in data["services"]:
        name = html.escape(catalog_name(s["name"], lang))
        out.append(
            f'<section class="svc" id="svc-{html.escape(s["service"])}" '
            f'aria-labelledby="h-{html.escape(s["service"])}">'
            f'<h2 id="h-{html.escape(s["service"])}">{name}</h2>'
            f"<p>{level_html(s['level'], tr)}</p>"
            f'<dl class="facts">'
            f"<dt>{html.escape(tr('お待ちの人数'))}</dt>"
            f"<dd>{html.escape(tr('{n} 人', n=s['waiting']))}</dd>"
            f"<dt>{html.escape(tr('待ち時間の目安'))}</dt>"
            f"<dd>{html.escape(minutes_text(s['estimated_wait_seconds'], tr))}</dd>"
            f"<dt>{html.escape(tr('開いている窓口'))}</dt>"
            f"<dd>{html.escape(tr('{n} か所', n=s['counters_open']))}</dd></dl>"
            + _hour_table(tr("今日の時間帯別"), s["today"], tr)
            + _hour_table(tr("これからの見込み"), s["forecast"], tr)
            + _week_table(s["week"], data["hours"], tr)
            + "</section>")
    return "".join(out)


def page_headers(request: Request, body: bytes) -> tuple[dict[str, str], bool]:
    frame = request.app.state.backoffice.settings.public.frame_ancestors_csp
    headers, fresh = cache_headers(request, body)
    headers.update({"Content-Security-Policy": CSP.replace("frame-ancestors 'none'",
                                                           f"frame-ancestors {frame}"),
                    "Referrer-Policy": "no-referrer", "Vary": "Accept-Language"})
    return headers, fresh


@router.get("/congestion/{ward}", response_class=HTMLResponse)
async def congestion_page(ward: str, request: Request, lang: str | None = None) -> Response:
    code = choose_language(lang, request.headers.get("accept-language"))
    tr = t(code)
    answer = await internal.get(request, f"{API}/public/congestion/{ward}", forward_auth=False)
    if answer.status != 200:
        status = answer.status if answer.status in (404, 422, 429) else 503
        title = tr("混雑状況")
        text = (tr("ページが見つかりません") if status in (404, 422) else
                tr("ただいま表示できません。しばらくしてからもう一度お試しください。"))
        return HTMLResponse(render("message.html", title=title, message=text, extra_html="",
                                   lang=tr.language.bcp47), status_code=status,
                            headers=NO_STORE)
    data = answer.json()
    n_days = int(data["history_days"])
    body = render(
        "congestion.html", tr=tr, lang=tr.language.bcp47,
        title=tr("{ward} の混雑状況", ward=catalog_name(data["name"], code)),
        ward_name=catalog_name(data["name"], code),
        language_form_html=language_form_html(code),
        open_text=tr("ただいま受付中です") if data["open_now"] else tr("ただいま受付時間外です"),
        legend=tr("○ 空いています △ やや混雑 × 混雑 (待ち時間の目安で判定)"),
        services_html=services_html(data, code),
        updated_at=str(data["generated_at"] or "")[11:16],
        history_text=tr(HISTORY_TEXT, weeks=data["history_weeks"], days=n_days),
        json_url=f"{API}/public/congestion/{data['ward']}").encode()
    headers, fresh = page_headers(request, body)
    if fresh:
        return Response(status_code=304, headers=headers)
    return HTMLResponse(body, headers=headers)
