"""The words of a notification, in the resident's language (the `web` gettext domain, like
the phone page): a title / subject and one line of body. Made at delivery from the outbox
row's `data` — ticket number, counter, ward, service, times — and nothing else."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kiosk.backoffice.context import Backoffice
from kiosk.backoffice.web.phone import catalog_name, t

TITLES = {
    "ahead": "まもなく順番です",
    "called": "お呼び出しです",
    "confirmation": "予約を受け付けました",
    "reminder": "明日はご予約の日です",
    "almost": "もうすぐ順番です",
}
BODIES = {
    "ahead": "受付番号 {number}: あなたの前はあと {n} 人です（{ward}・{service}）",
    "called": "受付番号 {number} の方、{counter} 番窓口へお越しください（{ward}）",
    "confirmation": "{ward}・{service}: {when} のご予約を受け付けました。"
                    "当日は予約コードの QR をキオスクにかざしてください",
    "reminder": "{ward}・{service}: 明日 {when} にご予約があります。"
                "予約コードの QR をお持ちください",
    "almost": "{ward}・{service}: {time} までに受付機で受付してください。"
              "過ぎると順番は無効になります",
}


def render(bo: Backoffice, kind: str, language: str, data: dict[str, Any]) -> tuple[str, str]:
    tr = t(language)
    values = dict(data)
    ward = bo.catalog.wards.get(str(data.get("ward")))
    values["ward"] = catalog_name(ward.name if ward else str(data.get("ward")), language)
    service = bo.catalog.services.get(str(data.get("service")))
    values["service"] = catalog_name(service.name if service else str(data.get("service")),
                                     language)
    if "slot_at" in data:
        when = datetime.fromisoformat(str(data["slot_at"])).astimezone(bo.tz)
        values["when"] = f"{when:%Y-%m-%d %H:%M}"
    if "check_in_by" in data:  # a place from home: the local time to check in by
        by = datetime.fromisoformat(str(data["check_in_by"])).astimezone(bo.tz)
        values["time"] = f"{by:%H:%M}"
    return tr(TITLES[kind]), tr(BODIES[kind], **values)
