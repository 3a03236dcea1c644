"""The public booking page /book (issue #19), phone-first and without an account or
script: ward → procedure or life event → day → slot → contact → a booking code and its QR
(shown at the kiosk); /book/manage finds a booking by its code to cancel or move it
(POST /book/move: a day, then a slot of it, then the same code at the new time).

Plain forms (the code travels in POST bodies, never in a URL), answered by the engine
(engine/appointments.py); every request counts against the public rate limit; no-store,
since a page may show a booking code. Words in the `web` catalogs, seven languages.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import parse_qsl

import qrcode
import qrcode.image.svg
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from kiosk.backoffice.engine import appointments as appt
from kiosk.backoffice.engine.errors import Conflict, EngineError, NotFound, invalid
from kiosk.backoffice.errors import ApiError
from kiosk.backoffice.ratelimit import client_address, count_public
from kiosk.backoffice.web.assets import render
from kiosk.backoffice.web.congestion_page import WEEKDAYS, language_form_html
from kiosk.backoffice.web.phone import catalog_name, choose_language, t
from kiosk.backoffice.web.routes import NO_STORE
from kiosk.i18n import Translator

router = APIRouter(include_in_schema=False)
# Like the other pages, but the forms must carry this server's Origin (csrf.py): with
# no-referrer a browser sends "Origin: null"; same-origin still tells other sites nothing.
HEADERS = {**NO_STORE, "Referrer-Policy": "same-origin"}
QR_PREFIX = "WARDAPPT:"
ERRORS = {"slot_full": "その時間は先に予約されました。別の時間を選んでください",
          "hold_expired": "選んだ時間の確保が切れました。もう一度選んでください",
          "too_many_bookings": "予約できる件数を超えています",
          "too_late": "その時間の予約受付は終わりました",
          "no_booking": "その予約番号は見つかりません",
          "not_movable": "この予約は変更できません"}
OTHER_ERROR = "予約できませんでした。もう一度お試しください"
CONTACT_HINT = "予約の件数の確認だけに使い、そのままでは保存しません"
# With e-mail on ([notify.smtp] host): the address is kept until the reminder (docs/home.md)
MAIL_HINT = "メールアドレスには予約の確認と前日のお知らせを送り、送ったあと消去します"
AT_THE_KIOSK = "当日、区役所の受付機でこのQRコードを読み取るか、予約番号を入力してください"
BUSY = "ただいま混み合っています。しばらくしてからもう一度お試しください"


async def form_of(request: Request, *needed: str) -> dict[str, str]:
    """A plain form's fields (application/x-www-form-urlencoded; the app already caps the
    body's size); each value at most 254 characters, the first of a repeated name kept.
    A field of `needed` missing: 422 (see `_answer`)."""
    fields: dict[str, str] = {}
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        for key, value in parse_qsl((await request.body()).decode("utf-8", "replace")):
            fields.setdefault(key[:32], value[:254])
    missing = [name for name in needed if not fields.get(name)]
    if missing:
        fields["_missing"] = ",".join(missing)
    return fields


def need(fields: Mapping[str, str]) -> None:
    if "_missing" in fields:
        raise invalid("validation_error", f"missing {fields['_missing']}")


def esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def qr_svg(code: str) -> str:
    """The booking code as a QR code, inline SVG (no image request, nothing to cache)."""
    image = qrcode.make(QR_PREFIX + code, image_factory=qrcode.image.svg.SvgPathImage,
                        box_size=8, border=2)
    svg: str = image.to_string(encoding="unicode")
    return svg.replace("<svg ", '<svg role="img" aria-hidden="true" class="qr" ', 1)


def form_button(action: str, fields: Mapping[str, str], button: str, lang: str,
          cls: str = "btn") -> str:
    hidden = "".join(f'<input type="hidden" name="{esc(k)}" value="{esc(v)}">'
                     for k, v in {**fields, "lang": lang}.items())
    return (f'<form method="post" action="{esc(action)}">{hidden}'
            f'<button type="submit" class="{cls}">{esc(button)}</button></form>')


@dataclass(frozen=True)
class Flow:
    """A public phone flow on the booking page's template: its start page, the name its
    header links with, its refusals in words and the heading they are shown under."""

    home: str = "/book"
    name: str = "窓口の予約"
    heading: str = "予約"
    errors: Mapping[str, str] = field(default_factory=lambda: ERRORS)
    other_error: str = OTHER_ERROR
    manage: str = "予約の確認・変更・取消"   # …/manage: find by code
    code_label: str = "予約番号"


BOOKING = Flow()


async def _page(request: Request, lang: str, title: str, body: str,
                status: int = 200, flow: Flow = BOOKING) -> HTMLResponse:
    tr = t(lang)
    here = request.url.path if request.method == "GET" else flow.home  # a form's answer: restart
    return HTMLResponse(render(
        "booking.html", tr=tr, lang=tr.language.bcp47, title=title,
        home_href=f"{flow.home}?lang={lang}", home_name=tr(flow.name),
        language_form_html=language_form_html(lang, here), body_html=body),
        status_code=status, headers=HEADERS)


async def answer(request: Request, lang: str, work: Callable[[], str],
                 title: str, flow: Flow = BOOKING) -> HTMLResponse:
    """Count the request, run the engine, and show its refusal in words."""
    tr = t(lang)
    try:
        await run_in_threadpool(count_public, request)
        body = await run_in_threadpool(work)
    except ApiError:
        busy = esc(tr(BUSY))
        return await _page(request, lang, tr(flow.heading), f'<p class="notice">{busy}</p>',
                           429, flow)
    except EngineError as exc:
        status = 404 if isinstance(exc, NotFound) else 409 if isinstance(exc, Conflict) else 422
        text = tr(flow.errors.get(exc.code, flow.other_error))
        back = f'<p><a href="{flow.home}?lang={esc(lang)}">{esc(tr("はじめから"))}</a></p>'
        return await _page(request, lang, tr(flow.heading),
                           f'<p class="notice" role="alert">{esc(text)}</p>{back}', status, flow)
    return await _page(request, lang, title, body, flow=flow)




def page_language(request: Request, lang: str | None) -> str:
    return choose_language(lang, request.headers.get("accept-language"))


async def wards_page(request: Request, lang: str | None, flow: Flow) -> HTMLResponse:
    """A flow's first page: the wards, and the way to a code already given."""
    code = page_language(request, lang)
    tr = t(code)
    wards = request.app.state.backoffice.catalog.wards.values()

    def work() -> str:
        items = "".join(f'<li><a class="choice" href="{flow.home}/{esc(w.code)}?lang={code}">'
                        f"{esc(catalog_name(w.name, code))}</a></li>" for w in wards)
        return (f"<h2>{esc(tr('区役所を選んでください'))}</h2><ul class=\"choices\">{items}</ul>"
                f'<p><a href="{flow.home}/manage?lang={code}">{esc(tr(flow.manage))}</a></p>')

    return await answer(request, code, work, tr(flow.name), flow)


async def manage_page(request: Request, lang: str | None, flow: Flow) -> HTMLResponse:
    """A flow's …/manage: type the code (sent in a POST body to …/find)."""
    code = page_language(request, lang)
    tr = t(code)

    def work() -> str:
        return (f'<form method="post" action="{flow.home}/find"><input type="hidden" '
                f'name="lang" value="{code}"><label for="code">{esc(tr(flow.code_label))}'
                f'</label><input id="code" name="code" required maxlength="32" '
                f'autocomplete="off" autocapitalize="characters"><button type="submit" '
                f'class="btn">{esc(tr("確認する"))}</button></form>')

    return await answer(request, code, work, tr(flow.manage), flow)


@router.get("/book", response_class=HTMLResponse)
async def book_wards(request: Request, lang: str | None = None) -> HTMLResponse:
    return await wards_page(request, lang, BOOKING)


@router.get("/book/manage", response_class=HTMLResponse)
async def book_manage(request: Request, lang: str | None = None) -> HTMLResponse:
    return await manage_page(request, lang, BOOKING)


@router.get("/book/{ward}", response_class=HTMLResponse)
async def book_what(ward: str, request: Request, lang: str | None = None) -> HTMLResponse:
    code = page_language(request, lang)
    tr = t(code)
    bo = request.app.state.backoffice

    def work() -> str:
        offer = appt.offer(bo, ward)
        base = f"/book/{esc(offer['ward'])}"
        procs = "".join(
            f'<li><a class="choice" href="{base}/{esc(s["service"])}?procedure={esc(p["code"])}'
            f'&amp;lang={code}">{esc(catalog_name(p["name"], code))}</a></li>'
            for s in offer["services"] for p in s["procedures"])
        events = "".join(
            f'<li><a class="choice" href="{base}/{esc(e["service"])}?life_event={esc(e["code"])}'
            f'&amp;lang={code}">{esc(catalog_name(e["name"], code))}</a></li>'
            for e in offer["life_events"])
        return (f"<h2>{esc(tr('手続きを選んでください'))}</h2><ul class=\"choices\">{procs}</ul>"
                f"<h2>{esc(tr('または、くらしの出来事から'))}</h2><ul class=\"choices\">{events}"
                "</ul>")

    return await answer(request, code, work, tr("窓口の予約"))


@router.get("/book/{ward}/{service}", response_class=HTMLResponse)
async def book_when(ward: str, service: str, request: Request, lang: str | None = None,
                    procedure: str = "", life_event: str = "", day: str = "") -> HTMLResponse:
    code = page_language(request, lang)
    tr = t(code)
    bo = request.app.state.backoffice
    keep = {"procedure": procedure[:32], "life_event": life_event[:32]}

    def work() -> str:
        if not day:
            days = appt.days(bo, ward, service)["days"]
            query = "".join(f"&amp;{k}={esc(v)}" for k, v in keep.items() if v)
            items = "".join(
                f'<li><a class="choice" href="?day={d["day"]}{query}&amp;lang={code}">'
                f'{esc(_day_text(d["day"], tr))} — {esc(tr("空き {n}", n=d["free"]))}</a></li>'
                for d in days if d["free"] > 0)
            return f"<h2>{esc(tr('日にちを選んでください'))}</h2><ul class=\"choices\">{items}</ul>"
        try:
            chosen = date.fromisoformat(day)
        except ValueError:
            raise NotFound("no_such_day", "not a day") from None
        slots = appt.slots(bo, ward, service, chosen)["slots"]
        forms = "".join(
            form_button("/book/hold",
                        {"ward": ward, "service": service, "slot": s["start"], **keep},
                        s["start"][11:], code, "btn slot") for s in slots if s["free"] > 0)
        return (f"<h2>{esc(_day_text(day, tr))} — {esc(tr('時間を選んでください'))}</h2>"
                f'<div class="slots">{forms or esc(tr("空きがありません"))}</div>')

    return await answer(request, code, work, tr("窓口の予約"))


def _day_text(day: str, tr: Translator) -> str:
    d = date.fromisoformat(day)
    return f"{d.month}/{d.day} ({tr(WEEKDAYS[d.weekday()])})"


def _summary(bo: Any, booking: Mapping[str, Any], lang: str) -> str:
    tr = t(lang)
    ward = bo.catalog.wards[booking["ward"]]
    what = (bo.catalog.procedures[booking["procedure"]].name if booking["procedure"]
            else bo.catalog.services[booking["service"]].name)
    rows = ((tr("区役所"), catalog_name(ward.name, lang)), (tr("手続き"), catalog_name(what, lang)),
            (tr("日時"), f"{_day_text(booking['slot'][:10], tr)} {booking['slot'][11:]}"))
    return '<dl class="facts">' + "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>"
                                          for k, v in rows) + "</dl>"


@router.post("/book/hold", response_class=HTMLResponse)
async def book_hold(request: Request) -> HTMLResponse:
    f = await form_of(request, "ward", "service", "slot")
    ward, service, slot = f.get("ward", ""), f.get("service", ""), f.get("slot", "")
    procedure, life_event = f.get("procedure", ""), f.get("life_event", "")
    code = page_language(request, f.get("lang"))
    tr = t(code)
    bo = request.app.state.backoffice

    def work() -> str:
        need(f)
        held = appt.hold(bo, ward, service, slot, address=client_address(request),
                         language=code, procedure=procedure or None,
                         life_event=life_event or None)
        until = str(held["hold_until"] or "")[11:16]
        return (f"<h2>{esc(tr('この内容で予約します'))}</h2>{_summary(bo, held, code)}"
                f'<p class="notice">'
                f'{esc(tr("{time} までこの時間を確保しています", time=until))}</p>'
                f'<form method="post" action="/book/confirm">'
                f'<input type="hidden" name="code" value="{esc(held["code"])}">'
                f'<input type="hidden" name="lang" value="{code}">'
                f'<label for="contact">{esc(tr("メールアドレスまたは電話番号"))}</label>'
                f'<input id="contact" name="contact" required minlength="6" maxlength="254" '
                f'autocomplete="email">'
                f'<p class="hint">{esc(tr(CONTACT_HINT))}</p>'
                + (f'<p class="hint" id="mail-hint">{esc(tr(MAIL_HINT))}</p>'
                   if bo.settings.notify.email_on else "") +
                f'<button type="submit" class="btn">{esc(tr("予約する"))}</button></form>')

    return await answer(request, code, work, tr("窓口の予約"))


def _booked(bo: Any, booking: Mapping[str, Any], lang: str, heading: str) -> str:
    tr = t(lang)
    return (f"<h2>{esc(heading)}</h2>{_summary(bo, booking, lang)}"
            f'<p>{esc(tr("予約番号"))}</p><p class="big-number" id="booking-code">'
            f'{esc(booking["code"])}</p>{qr_svg(booking["code"])}'
            f"<p>{esc(tr(AT_THE_KIOSK))}</p>")


@router.post("/book/confirm", response_class=HTMLResponse)
async def book_confirm(request: Request) -> HTMLResponse:
    f = await form_of(request, "code", "contact")
    code, contact = f.get("code", ""), f.get("contact", "")
    language = page_language(request, f.get("lang"))
    bo = request.app.state.backoffice

    def work() -> str:
        need(f)
        return _booked(bo, appt.confirm(bo, code, contact), language,
                       t(language)("予約しました"))

    return await answer(request, language, work, t(language)("窓口の予約"))


def _found(bo: Any, code: str, lang: str) -> str:
    tr = t(lang)
    booking = appt.view(bo, appt.find(bo, code))
    state = tr({"booked": "予約中", "cancelled": "取り消し済み"}.get(booking["status"],
                                                                   "受付済み"))
    body = _booked(bo, booking, lang, state)
    if booking["status"] == "booked":
        body += form_button("/book/move", {"code": booking["code"]}, tr("予約を変更する"), lang)
        body += form_button("/book/cancel", {"code": booking["code"]}, tr("予約を取り消す"), lang,
                      "btn danger")
    return body


def _movable(bo: Any, code: str) -> Mapping[str, Any]:
    booking = appt.view(bo, appt.find(bo, code))
    if booking["status"] != "booked":
        raise Conflict("not_movable", f"this booking is {booking['status']}")
    return booking


def _move(bo: Any, f: Mapping[str, str], lang: str) -> str:
    """Moving, one form a step (the code only ever in POST bodies): another day of the
    same service → a slot of it → the same booking (code and QR) at the new time."""
    tr = t(lang)
    booking = _movable(bo, f["code"])
    keep = {"code": booking["code"]}
    ward, service = booking["ward"], booking["service"]
    if f.get("slot"):
        moved = appt.move(bo, booking["code"], f["slot"])
        return _booked(bo, moved, lang, tr("予約を変更しました"))
    if f.get("day"):
        try:
            day = date.fromisoformat(f["day"])
        except ValueError:
            raise NotFound("no_such_day", "not a day") from None
        forms = "".join(
            form_button("/book/move", {**keep, "slot": s["start"]}, s["start"][11:], lang,
                  "btn slot") for s in appt.slots(bo, ward, service, day)["slots"]
            if s["free"] > 0 and s["start"] != booking["slot"])
        return (f"<h2>{esc(_day_text(f['day'], tr))} — {esc(tr('新しい時間を選んでください'))}"
                f'</h2><div class="slots">{forms or esc(tr("空きがありません"))}</div>')
    days = "".join(
        "<li>" + form_button("/book/move", {**keep, "day": d["day"]},
                       f"{_day_text(d['day'], tr)} — {tr('空き {n}', n=d['free'])}", lang,
                       "choice") + "</li>"
        for d in appt.days(bo, ward, service)["days"] if d["free"] > 0)
    return (f"<h2>{esc(tr('新しい日にちを選んでください'))}</h2>{_summary(bo, booking, lang)}"
            f'<ul class="choices">{days}</ul>')


def _cancelled(bo: Any, code: str, lang: str) -> str:
    booking = appt.cancel(bo, code)
    return f"<h2>{esc(t(lang)('予約を取り消しました'))}</h2>{_summary(bo, booking, lang)}"


async def _by_code(request: Request, act: Callable[[Any, str, str], str]) -> HTMLResponse:
    """A form that names a booking by its code: find it, or cancel it."""
    return await _with_code(request, lambda bo, f, lang: act(bo, f["code"], lang))


async def _with_code(request: Request,
                     act: Callable[[Any, Mapping[str, str], str], str]) -> HTMLResponse:
    """A form that names a booking by its code (and more: a day, a slot)."""
    f = await form_of(request, "code")
    language = page_language(request, f.get("lang"))

    def work() -> str:
        need(f)
        return act(request.app.state.backoffice, f, language)

    return await answer(request, language, work, t(language)("予約の確認・変更・取消"))


@router.post("/book/find", response_class=HTMLResponse)
async def book_find(request: Request) -> HTMLResponse:
    return await _by_code(request, _found)


@router.post("/book/cancel", response_class=HTMLResponse)
async def book_cancel(request: Request) -> HTMLResponse:
    return await _by_code(request, _cancelled)


@router.post("/book/move", response_class=HTMLResponse)
async def book_move(request: Request) -> HTMLResponse:
    return await _with_code(request, _move)
