"""The resident's phone status page: texts in the resident's language, from one place.

`phone_view` turns the API's status (docs/api.md §9) into the words the page shows; the
server-rendered first paint and the live updates (the page's script fetches the same view
as JSON) both use it, so the wording lives only here and in the `web` catalogs.
Only numbers and states: the status carries no personal data and neither does the page.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Mapping
from typing import Any

from kiosk.i18n import LANGUAGE_CODES, LANGUAGES, Translator, translator

DOMAIN = "web"

_STATE_TEXTS = {
    "serving": "窓口で対応中です",
    "held": "保留中です。職員からお呼びします",
    "no_show": "お呼びしましたがお見えになりませんでした。受付でお尋ねください",
    "done": "手続きは終了しました。ご来庁ありがとうございました",
    "cancelled": "この受付は取り消されました",
}


def choose_language(requested: str | None, accept_language: str | None) -> str:
    """?lang= wins; else the browser's first language we have; else Japanese."""
    if requested in LANGUAGE_CODES:
        return str(requested)
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()
        if not tag:
            continue
        if tag.startswith("zh"):
            return "zh-Hans"
        base = tag.split("-")[0]
        for code in LANGUAGE_CODES:
            if code.lower() == tag or code.lower() == base:
                return code
    return "ja"


def t(lang: str) -> Translator:
    return translator(lang, DOMAIN)


def wait_text(seconds: Any, tr: Translator, span: Any = None) -> str:
    if not isinstance(seconds, int | float) or seconds < 0:
        return "—"
    if isinstance(span, list | tuple) and len(span) == 2 and span[1] >= 60:
        # the served estimate gives a range ([queue] estimator = "clerk"): "15〜25分"
        return tr("{low}〜{high} 分", low=math.floor(span[0] / 60),
                  high=math.ceil(span[1] / 60))
    if seconds < 60:
        return tr("まもなくです")
    return tr("約 {minutes} 分", minutes=math.ceil(seconds / 60))


def catalog_name(name: str, lang: str) -> str:
    """Service names are catalog text: the web catalog may translate them, else the kiosk's."""
    translated = t(lang)(name)
    return translated if translated != name else translator(lang, "kiosk")(name)


def phone_view(status: Mapping[str, Any], lang: str) -> dict[str, Any]:
    """Everything the page shows, already translated. Keys match element ids in phone.html."""
    tr = t(lang)
    state = str(status.get("status", ""))
    ahead = status.get("people_ahead")
    view: dict[str, Any] = {
        "status": state,
        "number": str(status.get("number", "")),
        "ward_name": catalog_name(str(status.get("ward_name", "")), lang),
        "service_name": catalog_name(str(status.get("service_name", "")), lang),
        "people_ahead": tr("{n} 人", n=ahead) if isinstance(ahead, int) else "—",
        "estimated_wait": wait_text(status.get("estimated_wait_seconds"), tr,
                                    status.get("estimated_wait_range")),
        "called_text": "",
        "state_text": "",
        "show_facts": state == "waiting",
    }
    if state == "called" and status.get("counter") is not None:
        view["called_text"] = tr("お呼び出しです — {counter} 番窓口へお越しください",
                                 counter=status["counter"])
    elif state in _STATE_TEXTS:
        view["state_text"] = tr(_STATE_TEXTS[state])
    from kiosk.backoffice.web.phone_route import route_view  # it uses this module's t()

    view.update(route_view(status, lang))  # a routed visit (issue #17); "" otherwise
    return view


def language_options(current: str) -> str:
    return "".join(
        f'<option value="{html.escape(lang.code)}" lang="{html.escape(lang.bcp47)}"'
        f'{" selected" if lang.code == current else ""}>{html.escape(lang.native)}</option>'
        for lang in LANGUAGES)


def page_values(view: Mapping[str, Any], lang: str, token: str, updated_at: str) -> dict[str, Any]:
    """Template values for phone.html (escaped by assets.render, except *_html)."""
    tr = t(lang)
    hidden = 'hidden=""'
    config = {"token": token, "lang": lang, "view": f"/status/{token}/view?lang={lang}",
              "events": f"/api/v1/status/{token}/events",
              "notify": f"/api/v1/status/{token}/notifications"}
    # The page words its own `position` messages (people ahead, wait) with these: the same
    # catalog texts and rule as `phone_view`, so they never differ from a fresh read.
    strings = {"lost": tr("接続が切れました — 再接続しています…"), "ahead": tr.gettext("{n} 人"),
               "soon": tr("まもなくです"), "minutes": tr.gettext("約 {minutes} 分"),
               **notify_strings(tr)}
    return {
        "lang": t(lang).language.bcp47,
        "title": tr("受付状況"),
        "config": json.dumps(config, ensure_ascii=False),
        "strings": json.dumps(strings, ensure_ascii=False),
        "ward_name": view["ward_name"],
        "language_label": tr("言語"),
        "change_label": tr("切り替え"),
        "language_options_html": language_options(lang),
        "number_label": tr("受付番号"),
        "number": view["number"],
        "service_name": view["service_name"],
        "called_hidden_html": "" if view["called_text"] else hidden,
        "called_text": view["called_text"],
        "state_hidden_html": "" if view["state_text"] else hidden,
        "state_text": view["state_text"],
        "facts_hidden_html": "" if view["show_facts"] else hidden,
        "ahead_label": tr("あなたの前の人数"),
        "people_ahead": view["people_ahead"],
        "wait_label": tr("待ち時間の目安"),
        "estimated_wait": view["estimated_wait"],
        "auto_update": tr("この画面は自動で新しくなります"),
        "updated_label": tr("最終更新"),
        "updated_at": updated_at,
        "route_html": view.get("route_html", ""),
        "guide_html": view.get("guide_html", ""),
        "next_text": view.get("next_text", ""),
        "next_hidden_html": "" if view.get("next_text") else hidden,
        **notify_values(tr),
    }


def notify_strings(tr: Translator) -> dict[str, str]:
    """What phone_notify.js says after a button (engine/notify.py, docs/home.md)."""
    return {"working": tr("設定しています…"), "push_done": tr("この端末に通知します"),
            "email_done": tr("メールでお知らせします"), "stopped": tr("お知らせを止めました"),
            "denied": tr("通知が許可されていません。ブラウザーの設定をご確認ください"),
            "failed": tr("設定できませんでした。しばらくしてからもう一度お試しください"),
            "bad_email": tr("メールアドレスを確かめてください")}


def notify_values(tr: Translator) -> dict[str, str]:
    return {"notify_title": tr("順番が近づいたらお知らせ"),
            "notify_what": tr("前の人数が少なくなったときと、呼ばれたときにお知らせします"),
            "push_on": tr("この端末に通知する"), "push_off": tr("通知をやめる"),
            "email_label": tr("メールアドレス"), "email_on": tr("メールで受け取る"),
            "email_off": tr("メールをやめる"),
            "notify_privacy": tr(
                "お知らせには受付番号と窓口だけが書かれます。登録はこの受付が終わると消去されます")}
