"""Every word the staff pages (console, supervisor, central) can show: the msgids of their
templates ({{…}}), scripts (T("…")) and server-side wording, for the catalog tests."""

from __future__ import annotations

import re
from pathlib import Path

from kiosk.backoffice.web import (
    admin_page,
    application_view,
    central_routes,
    central_view,
    console_view,
    routes,
    staff_i18n,
    stats_view,
)
from kiosk.backoffice.web.assets import TEMPLATE_DIR

WEB = Path(routes.__file__).resolve().parent
STAFF_TEMPLATES = ("console.html", "supervisor.html", "central.html", "devices.html",
                   "admin.html", "floor.html", "statistics.html", "catalog.html",
                   "what_if.html")
STAFF_SCRIPTS = ("live.js", "console.js", "console_route.js", "console_interview.js",
                 "supervisor.js", "supervisor_waits.js", "central.js",
                 "central_waits.js", "devices.js", "admin.js", "floor.js", "catalog.js",
                 "catalog_edit.js", "catalog_events.js",
                 "what_if.js")
SERVER_SIDE = ("application_view.py", "console_view.py", "central_view.py", "staff_i18n.py",
               "central_routes.py", "routes.py", "visit_view.py", "devices_page.py",
               "admin_page.py", "floor_page.py", "stats_view.py", "stats_routes.py")
# Words of the printed form (kiosk.printing.forms) the console translates for its clerk.
FORM_WORDS = ("申請者（窓口に来られた方）", "届出人（窓口に来られた方）", "申請の内容",
              "届出の内容", "申請内容", "個人番号", "本人確認", "本人確認の方法", "カードの真正性",
              "手数料", "無料", "—（カードを使用していません）", "（未記入）", "（窓口で記入）")
# kana and kanji (not the shared punctuation: Korean text may use 「・」 too)
JAPANESE = re.compile(r"[\u3040-\u309f\u30a0-\u30fa\u30fc-\u30ff\u4e00-\u9fff\uff66-\uff9f]")


def staff_msgids() -> list[str]:
    found: dict[str, None] = {}
    for name in STAFF_TEMPLATES:
        found.update(dict.fromkeys(re.findall(r"\{\{(.+?)\}\}",
                                              (TEMPLATE_DIR / name).read_text("utf-8"))))
    found.update(dict.fromkeys(staff_i18n.script_msgids(STAFF_SCRIPTS)))
    for name in SERVER_SIDE:
        text = (WEB / name).read_text(encoding="utf-8")
        found.update(dict.fromkeys(re.findall(r'\btr\("([^"]+)"', text)))
    for words in (console_view.PAYMENT_WORDS, console_view.PRIORITY_WORDS,
                  application_view.PURGE_REASON_WORDS, central_view.KIND_WORDS,
                  application_view.CARD_CHECK_WORDS):
        found.update(dict.fromkeys(words.values()))
    found.update(dict.fromkeys(central_view.CSV_HEADERS))
    found.update(dict.fromkeys((application_view.PURGED_NOTE, central_routes.TITLE,
                                central_routes.CENTRAL_ONLY,
                                routes.SUPERVISORS_ONLY, "窓口コンソール", "待ち状況の概要",
                                admin_page.ADMINS_ONLY, "管理", "窓口・手続きの設定")))
    found.update(dict.fromkeys(FORM_WORDS))
    found.update(dict.fromkeys((stats_view.STAFF_RULE, "統計(詳細)")))
    return list(found)
