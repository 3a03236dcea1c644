"""The public page /queue (issue #19): a place in today's queue from the phone, without
an account or script — ward → the services that give places now (people waiting, the
estimated wait, or why not) → a code and its QR to check in at a kiosk of the ward, the
people ahead and, once it is almost the resident's turn, the time to check in by. The code
travels only in POST bodies. Answered by engine/remote.py on the booking page's template
and refusals (booking_page.answer); words in the `web` catalogs, seven languages."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from kiosk.backoffice.config_notify import valid_email
from kiosk.backoffice.engine import notify, remote
from kiosk.backoffice.engine.errors import invalid
from kiosk.backoffice.ratelimit import client_address
from kiosk.backoffice.web.booking_page import (
    Flow,
    answer,
    esc,
    form_button,
    form_of,
    manage_page,
    need,
    page_language,
    qr_svg,
    wards_page,
)
from kiosk.backoffice.web.congestion_page import minutes_text
from kiosk.backoffice.web.phone import catalog_name, t

router = APIRouter(include_in_schema=False)
TITLE = "今日の順番を取る"
MANAGE = "順番の確認・取消"
REASONS = {"ward_closed": "受付時間外です",
           "wait_short": "いまは待ち時間が短いので、直接お越しください",
           "hour_full": "この時間に取れる順番はすべて取られました",
           "not_offered": "この窓口では取れません"}
FLOW = Flow(home="/queue", name=TITLE, heading=TITLE,
            errors={**REASONS, "too_many_places": "この接続からは今日はこれ以上取れません",
                    "no_place": "その受付コードは見つかりません",
                    "not_cancellable": "この順番は取り消せません",
                    "place_ended": "この順番はもう待っていません",
                    "bad_address": "メールアドレスが正しくありません"},
            other_error="順番を取れませんでした。もう一度お試しください",
            manage=MANAGE, code_label="受付コード")
HOW = ("区役所に着いたら、受付機でこのQRコードを読み取るか受付コードを入力してください。"
       "番号札が出て、呼び出しはその後です")
RULE = "順番が近づいたら {minutes} 分以内に受付してください。過ぎると無効になります"
SOON = "もうすぐ順番です。{time} までに受付機で受付してください"
MAIL_HINT = "もうすぐ順番になったら、受付の期限をメールでお知らせします"
MAILED = "もうすぐ順番になったら、このアドレスにお知らせします"
STATES = {"checked_in": "受付済みです", "no_show": "受付がなかったため、この順番は無効になりました",
          "cancelled": "この順番は取り消されました"}


@router.get("/queue", response_class=HTMLResponse)
async def queue_wards(request: Request, lang: str | None = None) -> HTMLResponse:
    return await wards_page(request, lang, FLOW)


@router.get("/queue/manage", response_class=HTMLResponse)
async def queue_manage(request: Request, lang: str | None = None) -> HTMLResponse:
    return await manage_page(request, lang, FLOW)


@router.get("/queue/{ward}", response_class=HTMLResponse)
async def queue_services(ward: str, request: Request, lang: str | None = None) -> HTMLResponse:
    code = page_language(request, lang)
    tr = t(code)
    bo = request.app.state.backoffice

    def work() -> str:
        offer = remote.offer(bo, ward)
        items = []
        for s in offer["services"]:
            facts = (f'<dl class="facts"><dt>{esc(tr("お待ちの人数"))}</dt>'
                     f'<dd>{esc(tr("{n} 人", n=s["waiting"]))}</dd>'
                     f'<dt>{esc(tr("待ち時間の目安"))}</dt>'
                     f'<dd>{esc(minutes_text(s["estimated_wait_seconds"], tr))}</dd></dl>')
            act = (form_button("/queue/take", {"ward": offer["ward"], "service": s["service"]},
                               tr("この順番を取る"), code)
                   if s["available"] else
                   f'<p class="notice">{esc(tr(REASONS[s["reason"]]))}</p>')
            name = esc(catalog_name(s["name"], code))
            items.append(f'<section class="remote-service"><h2>{name}</h2>{facts}{act}'
                         "</section>")
        rule = tr(RULE, minutes=offer["check_in_minutes"])
        return ("".join(items) or f'<p class="notice">{esc(tr(REASONS["not_offered"]))}</p>'
                ) + f'<p class="hint">{esc(rule)}</p>'

    return await answer(request, code, work, tr(TITLE), FLOW)


def _mail_form(place: Mapping[str, Any], lang: str, mailed: bool) -> str:
    """The place's e-mail opt-in (no script): "check in by HH:MM" when almost its turn."""
    tr = t(lang)
    if mailed:
        return f'<p class="notice" role="status" id="place-mailed">{esc(tr(MAILED))}</p>'
    return (f'<section class="remote-notify"><h3>{esc(tr("順番が近づいたらお知らせ"))}</h3>'
            f'<form method="post" action="/queue/notify">'
            f'<input type="hidden" name="code" value="{esc(place["code"])}">'
            f'<input type="hidden" name="lang" value="{esc(lang)}">'
            f'<label for="address">{esc(tr("メールアドレス"))}</label>'
            f'<input id="address" name="address" type="email" required maxlength="254" '
            f'autocomplete="email"><p class="hint">{esc(tr(MAIL_HINT))}</p>'
            f'<button type="submit" class="btn">{esc(tr("メールで受け取る"))}</button>'
            f'</form></section>')


def place_html(place: Mapping[str, Any], lang: str, heading: str,
               mail: bool | None = None) -> str:
    """A place: its code and QR, people ahead and the wait, or its state; `mail`: the
    e-mail opt-in (None: the office sends no e-mail; True: this place opted in)."""
    tr = t(lang)
    out = f"<h2>{esc(heading)}</h2>"
    if place["status"] == "waiting":
        out += (f'<dl class="facts"><dt>{esc(tr("あなたの前の人数"))}</dt>'
                f'<dd id="people-ahead">{esc(tr("{n} 人", n=place["people_ahead"]))}</dd>'
                f'<dt>{esc(tr("待ち時間の目安"))}</dt>'
                f'<dd>{esc(minutes_text(place["estimated_wait_seconds"], tr))}</dd></dl>')
        if place["check_in_by"]:
            soon = tr(SOON, time=place["check_in_by"][11:16])
            out += f'<p class="notice" role="status">{esc(soon)}</p>'
        out += (f'<p>{esc(tr("受付コード"))}</p><p class="big-number" id="place-code">'
                f'{esc(place["code"])}</p>{qr_svg(place["code"])}<p>{esc(tr(HOW))}</p>')
        if mail is not None:
            out += _mail_form(place, lang, mail)
        out += form_button("/queue/find", {"code": place["code"]}, tr("最新の状況を見る"), lang)
        out += form_button("/queue/cancel", {"code": place["code"]}, tr("順番を取り消す"), lang,
                           "btn danger")
        return out
    out += f'<p class="notice" id="place-state">{esc(tr(STATES[place["status"]]))}</p>'
    if place["ticket"]:
        out += (f'<p>{esc(tr("受付番号"))}</p><p class="big-number">'
                f'{esc(place["ticket"]["number"])}</p>'
                f'<p><a href="{esc(place["ticket"]["status_url"])}?lang={lang}">'
                f'{esc(tr("呼び出し状況を見る"))}</a></p>')
    return out


def _mail(bo: Any, place: Mapping[str, Any]) -> bool | None:
    if not bo.settings.notify.email_on or place["status"] != "waiting":
        return None
    return bool(notify.state_place(bo, place["code"])["email"])


Act = Callable[[Any, Mapping[str, str], str], str]  # (backoffice, form, language) -> body


async def _form(request: Request, fields: tuple[str, ...], title: str, act: Act) -> HTMLResponse:
    """A form's POST: read it, run `act` in the engine, answer on the page (or refuse)."""
    f = await form_of(request, *fields)
    code = page_language(request, f.get("lang"))
    bo = request.app.state.backoffice

    def work() -> str:
        need(f)
        return act(bo, f, code)

    return await answer(request, code, work, t(code)(title), FLOW)


def _taken(bo: Any, f: Mapping[str, str], lang: str, address: str) -> str:
    place = remote.take(bo, f["ward"], f["service"], address=address, language=lang)
    return place_html(place, lang, t(lang)("順番を取りました"), _mail(bo, place))


def _found(bo: Any, f: Mapping[str, str], lang: str) -> str:
    place = remote.look_up(bo, f["code"])
    return place_html(place, lang, t(lang)("あなたの順番"), _mail(bo, place))


def _cancelled(bo: Any, f: Mapping[str, str], lang: str) -> str:
    return place_html(remote.cancel(bo, f["code"]), lang, t(lang)("順番を取り消しました"))


def _mailed(bo: Any, f: Mapping[str, str], lang: str) -> str:
    """The place page's e-mail opt-in (engine notify.subscribe_place, as the API's)."""
    address = f["address"].strip()
    if not valid_email(address):  # the page names it (the API: 422 validation_error)
        raise invalid("bad_address", "not an e-mail address", field="address")
    notify.subscribe_place(bo, f["code"], "email", address, lang)
    return place_html(remote.look_up(bo, f["code"]), lang, t(lang)("あなたの順番"), True)


@router.post("/queue/take", response_class=HTMLResponse)
async def queue_take(request: Request) -> HTMLResponse:
    address = client_address(request)
    return await _form(request, ("ward", "service"), TITLE,
                       lambda bo, f, lang: _taken(bo, f, lang, address))


@router.post("/queue/find", response_class=HTMLResponse)
async def queue_find(request: Request) -> HTMLResponse:
    return await _form(request, ("code",), MANAGE, _found)


@router.post("/queue/cancel", response_class=HTMLResponse)
async def queue_cancel(request: Request) -> HTMLResponse:
    return await _form(request, ("code",), MANAGE, _cancelled)


@router.post("/queue/notify", response_class=HTMLResponse)
async def queue_notify(request: Request) -> HTMLResponse:
    return await _form(request, ("code", "address"), MANAGE, _mailed)
