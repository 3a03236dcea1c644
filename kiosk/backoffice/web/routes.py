"""Page routes: counter console, lobby display, phone status page, supervisor overview.

Pages are thin HTML shells plus a little JavaScript that talks to the JSON API
(docs/api.md). What must be decided on the server — is this status token valid, may this
person see the supervisor page — is asked of the API in-process (`internal.get`), so the
pages depend on the documented contract only.
"""

from __future__ import annotations

import functools
import html
import json
import logging
import re
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from kiosk.backoffice.auth import optional_principal
from kiosk.backoffice.web import internal
from kiosk.backoffice.web.application_view import application_sections
from kiosk.backoffice.web.assets import MEDIA_TYPES, fragment, render, static_file
from kiosk.backoffice.web.console_view import ticket_summary, translated_sections
from kiosk.backoffice.web.phone import choose_language, page_values, phone_view, t
from kiosk.backoffice.web.staff_i18n import (
    COOKIE,
    STAFF_LANGUAGES,
    language_form_html,
    local_path,
    script_strings,
    staff_language,
)
from kiosk.backoffice.web.visit_view import routed_application
from kiosk.configfile import load_catalog
from kiosk.domain.catalog import Catalog
from kiosk.i18n import LANGUAGE_CODES

log = logging.getLogger(__name__)

API = "/api/v1"
router = APIRouter(include_in_schema=False)

# Pages must never be cached by a browser or proxy: they show live, per-person state.
# Everything comes from this server: the policy also enforces "no CDN" in the browser.
# media-src blob: the display's announcement audio, fetched with its token (announce.js).
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "font-src 'self'; media-src 'self' blob:; connect-src 'self'; object-src 'none'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
NO_STORE = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer", "Content-Security-Policy": CSP}
NOT_FOUND_TEXT = ("この QR コードは無効か、有効期限が切れています。"
                  "番号札をお持ちの方は受付でお尋ねください。")
ENDED_TITLE = "受付は終了しました"
ENDED_TEXT = ("この番号札の受付は終了し、状況の表示も終わりました。"
              "ご用の方は受付でお尋ねください。")
UNAVAILABLE_TEXT = "ただいま表示できません。しばらくしてからもう一度お試しください。"
TOKEN_RE = re.compile(r"[A-Za-z0-9_\-]{8,128}")  # a status token is URL-safe base64
ROLE_RANK = {"staff": 0, "supervisor": 1, "admin": 2}
LANGUAGE_COOKIE_SECONDS = 365 * 24 * 3600
SUPERVISORS_ONLY = "このページは監督者(supervisor)以上の役割の職員だけが開けます。"


@functools.cache
def _default_catalog() -> Catalog:
    return load_catalog()


def catalog(request: Request) -> Catalog:
    """The catalog the running back-office serves (it may be started with its own file)."""
    found = getattr(getattr(request.app.state, "backoffice", None), "catalog", None)
    return found if isinstance(found, Catalog) else _default_catalog()


def _page(body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(body, status_code=status, headers=NO_STORE)


def _message(title: str, message: str, status: int, lang: str = "ja",
             extra_html: str = "") -> HTMLResponse:
    return _page(render("message.html", title=title, message=message, extra_html=extra_html,
                        lang=t(lang).language.bcp47), status)


def staff_page(request: Request, template: str, *, title: str, scripts: tuple[str, ...],
               config: dict[str, Any], **values: object) -> HTMLResponse:
    """A staff page in the staff member's language (staff_i18n): the template's {{words}},
    its scripts' T("words") and the catalog's names, plus the language choice."""
    lang = staff_language(request)
    tr = t(lang)
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return _page(render(template, title=tr(title), lang=tr.language.bcp47, tr=tr,
                        config=json.dumps({**config, "lang": lang}, ensure_ascii=False),
                        strings=script_strings(scripts, lang, catalog(request)),
                        language_form_html=language_form_html(lang, here), **values))


def forbidden_page(request: Request, message: str) -> HTMLResponse:
    tr = t(staff_language(request))
    return _message(tr("権限がありません"), tr(message), 403, staff_language(request),
                    extra_html=f'<p><a href="/console">{html.escape(tr("窓口コンソールへ戻る"))}'
                               '</a></p>')


@router.get("/web/language")
async def choose_staff_language(lang: str = "ja", next: str = "/console") -> Response:
    """The staff pages' language choice (a cookie for a year), then back to the page."""
    response = RedirectResponse(local_path(next), status_code=303, headers=NO_STORE)
    if lang in STAFF_LANGUAGES:
        response.set_cookie(COOKIE, lang, max_age=LANGUAGE_COOKIE_SECONDS, path="/",
                            samesite="lax", httponly=True)
    return response


@router.get("/web/static/{name:path}")
async def static(name: str) -> Response:
    path = static_file(name)
    if path is None:
        return Response("not found", status_code=404, media_type="text/plain")
    return FileResponse(path, media_type=MEDIA_TYPES[path.suffix],
                        headers={"Cache-Control": "public, max-age=300"})


# ---------------------------------------------------------------- counter console
@router.get("/console", response_class=HTMLResponse)
async def console_page(request: Request) -> HTMLResponse:
    return staff_page(request, "console.html", title="窓口コンソール",
                      scripts=("live.js", "console.js", "console_route.js",
                               "console_interview.js"),
                      config={"api": API})


@router.get("/web/tickets/{ticket_id}/application")
async def ticket_application(ticket_id: int, request: Request) -> JSONResponse:
    """The ticket's application as labelled rows; the API decides who may see it (and
    writes the read to the ticket's audit trail as one through the console)."""
    request.scope.setdefault("state", {})["data_read_via"] = "console"  # internal.get copies it
    answer = await internal.get(request, f"{API}/tickets/{ticket_id}")
    if answer.status != 200:
        return JSONResponse(answer.json() or {"error": "unavailable"}, status_code=answer.status,
                            headers=NO_STORE)
    ticket = answer.json()
    cat, lang = catalog(request), staff_language(request)
    if ticket.get("route") is not None:  # a routed visit: this stage's forms, the route
        laid_out = routed_application(ticket, cat, lang, API)
    else:
        laid_out = translated_sections(application_sections(ticket, cat), ticket, cat, lang)
        laid_out["form_pdf"] = (f"{API}/tickets/{ticket_id}/form.pdf"
                                if ticket.get("application") else None)
    return JSONResponse({"id": ticket_id, "number": ticket.get("number"),
                         "summary": ticket_summary(ticket, cat, lang), **laid_out},
                        headers=NO_STORE)


# ---------------------------------------------------------------- lobby display
def _csv(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


@router.get("/display", response_class=HTMLResponse)
async def display_page(request: Request, ward: str = "", services: str = "", counters: str = "",
                       recent: int = 6, now: int = 3, lang: str = "ja,en") -> HTMLResponse:
    """?ward=kita[&services=certificates,moving][&counters=1,2][&recent=6][&now=3][&lang=ja,en]

    The display authenticates with its device token given once as #token=dv_... (kept in
    the browser, never sent in a URL the server logs) or with a staff login cookie."""
    cat = catalog(request)
    if ward not in cat.wards:
        wards = ", ".join(cat.wards)
        return _message("区役所が指定されていません / Unknown ward",
                        f"?ward= に区役所のコードを指定してください(例: {wards})。", 404)
    langs = [code for code in _csv(lang) if code in LANGUAGE_CODES] or ["ja"]

    def both(msgid: str, **values: Any) -> str:
        texts = list(dict.fromkeys(t(code)(msgid, **values) for code in langs))
        return " / ".join(texts)

    counter_fmt = {code: t(code)("{counter} 番窓口", counter="{counter}") for code in langs}
    chosen = [s for s in _csv(services) if s in cat.services]
    shown_services = chosen or list(cat.wards[ward].services)
    config = {
        "api": API, "ward": ward,
        "services": chosen,
        # footer: how many wait per service and for how long (numbers only)
        "service_names": {code: both(cat.services[code].name) for code in shown_services},
        "wait_formats": [t(code)("待ち {n} 人・約 {minutes} 分", n="{n}", minutes="{minutes}")
                         for code in langs],
        "count_formats": [t(code)("待ち {n} 人", n="{n}") for code in langs],
        "counters": [int(c) for c in _csv(counters) if c.isdigit()],
        "recent": max(1, min(recent, 12)), "now": max(1, min(now, 6)),
        "counter_formats": [counter_fmt[c] for c in langs],
        "lost": both("接続が切れました — 再接続しています…"),
        "refused": "この表示機の登録(デバイストークン)が受け付けられません。"
                   "管理者に連絡してください。 / This display's device token was refused:"
                   " please call the administrator.",
    }
    return _page(render(
        "display.html", config=json.dumps(config, ensure_ascii=False),
        title=both("呼出表示"), ward_name=cat.wards[ward].name,
        now_calling=both("ただいまのお呼び出し"), recent_calls=both("これまでのお呼び出し"),
        no_calls=both("お呼び出しをお待ちください"), waits_label=both("待ち状況"),
        sound_hint=both("音声を出すには画面に一度触れてください")))


# ---------------------------------------------------------------- phone status page
async def _status(request: Request, token: str) -> tuple[int, Any]:
    if not TOKEN_RE.fullmatch(token):
        return 404, None
    answer = await internal.get(request, f"{API}/status/{token}", forward_auth=False)
    return answer.status, (answer.json() if answer.status == 200 else None)


def _not_found(lang: str) -> HTMLResponse:
    tr = t(lang)
    return _message(tr("ページが見つかりません"), tr(NOT_FOUND_TEXT), 404, lang)


def _ended(lang: str) -> HTMLResponse:
    """The ticket's personal data was purged (or is due): its status token has ended."""
    tr = t(lang)
    return _message(tr(ENDED_TITLE), tr(ENDED_TEXT), 410, lang)


def _unavailable(lang: str) -> HTMLResponse:
    tr = t(lang)
    return _message(tr("受付状況"), tr(UNAVAILABLE_TEXT), 503, lang)


@router.get("/status/{token}", response_class=HTMLResponse)
async def phone_page(token: str, request: Request, lang: str | None = None) -> HTMLResponse:
    code = choose_language(lang, request.headers.get("accept-language"))
    try:
        status, data = await _status(request, token)
    except Exception:
        log.exception("status page: the API failed")
        return _unavailable(code)
    if status == 200:
        view = phone_view(data, code)
        updated = datetime.now().astimezone().strftime("%H:%M:%S")
        return _page(render("phone.html", **page_values(view, code, token, updated)))
    if status == 410:
        return _ended(code)
    if status in (400, 404, 422):
        return _not_found(code)
    return _unavailable(code)


@router.get("/status/{token}/view")
async def phone_view_json(token: str, request: Request, lang: str | None = None) -> JSONResponse:
    code = choose_language(lang, request.headers.get("accept-language"))
    status, data = await _status(request, token)
    if status != 200:
        error = {404: "not_found", 410: "ticket_ended"}.get(status, "unavailable")
        return JSONResponse({"error": error}, status_code=status if status in (404, 410)
                            else 503, headers=NO_STORE)
    view = phone_view(data, code)
    view["updated_at"] = datetime.now().astimezone().strftime("%H:%M:%S")
    return JSONResponse(view, headers=NO_STORE)


# ---------------------------------------------------------------- supervisor overview
async def supervisor_page_of(request: Request, template: str, title: str, script: str,
                             role: str = "supervisor", refusal: str = SUPERVISORS_ONLY,
                             extra: tuple[str, ...] = (), **values: object) -> Response:
    """A supervisor's (or admin's: `role`) page for the signed-in caller, else where they
    go instead: central to /central, nobody to the login, a lower role to a refusal."""
    if getattr(await run_in_threadpool(optional_principal, request), "role", None) == "central":
        return RedirectResponse("/central", status_code=303, headers=NO_STORE)
    me = await internal.get(request, f"{API}/auth/me")
    who = me.json() if me.status == 200 else None
    if not who or who.get("kind") != "staff":
        return RedirectResponse(f"/console?next={request.url.path}", status_code=303,
                                headers=NO_STORE)
    if ROLE_RANK.get(str(who.get("role")), -1) < ROLE_RANK[role]:
        return forbidden_page(request, refusal)
    config = {"api": API, "username": who.get("username"), "ward": who.get("ward")}
    return staff_page(request, template, title=title, scripts=("live.js", script, *extra),
                      config=config, **values)


@router.get("/supervisor", response_class=HTMLResponse)
async def supervisor_page(request: Request) -> Response:
    what_if = fragment("what_if.html", t(staff_language(request)), ward_choice_html="")
    return await supervisor_page_of(request, "supervisor.html", "待ち状況の概要", "supervisor.js",
                                    extra=("supervisor_waits.js", "what_if.js"),
                                    what_if_html=what_if)
