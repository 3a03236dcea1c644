"""The 手続き案内票: the second slip of a life-event visit (転入, 出生, おくやみ …).

It lists every procedure of the event — those done at this office (with the stage of
the route that does them), at another office (教育委員会, 年金事務所 …) and online —
each with what to bring, so nothing the resident needs is left to memory. Like the
ticket (kiosk.printing.slip) it is content only: styled lines the renderer lays out.
Non-personal: names of procedures, offices and documents, never the resident's data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from kiosk.i18n import LANGUAGE_CODES, translator
from kiosk.printing.slip import ISSUED, QR_HINT, Both, Line, Msgid, Style, bilingual

HERE, OTHER, ONLINE = "here", "other", "online"


@dataclass(frozen=True)
class GuideEntry:
    """One procedure of the event as the slip prints it. Texts are Japanese msgids."""

    name: str                        # 国民健康保険の加入
    place: str                       # here | other | online
    bring: tuple[str, ...] = ()      # 在学証明書, 本人確認書類 …
    office: str | None = None        # other: 教育委員会
    url: str | None = None           # online: the portal's address or name
    stage: int | None = None         # here: the route's stage that does it (1, 2 …)
    counter: str | None = None       # here: that stage's counters (3番窓口)
    procedure: str | None = None     # here: the catalog procedure's code
    note: str = ""                   # e.g. a deadline (転入した日から90日 …)


@dataclass(frozen=True)
class GuideSlip:
    ward_name: str
    event_name: str                  # 転入 (msgid)
    number: str                      # the visit's ticket number, to match the two slips
    issued_at: datetime
    entries: tuple[GuideEntry, ...]
    status_url: str = ""             # the phone page shows the same guide
    language: str = "ja"


# msgids introduced by the guide slip (translations in kiosk.po)
GUIDE_TITLE = "手続き案内票"
GUIDE_EVENT = "{event}の手続き"
GUIDE_NUMBER = "受付番号 {number}"
GUIDE_HERE = "この庁舎：{stage}番目の窓口（{counter}）"
GUIDE_HERE_PLAIN = "この庁舎の窓口"
GUIDE_OTHER = "ほかの窓口：{office}"
GUIDE_ONLINE = "オンライン：{where}"
GUIDE_BRING = "持ち物：{things}"
GUIDE_NOTHING = "持ち物：特にありません"
GUIDE_SECTION = {HERE: "この庁舎で行う手続き", OTHER: "ほかの窓口で行う手続き",
                 ONLINE: "オンラインでできる手続き"}
GUIDE_FOOT = "ご不明な点は職員にお尋ねください"
BULLET = "■ {name}"


def guide_lines(slip: GuideSlip, printable: Callable[[str], bool] = lambda _: True,
                ) -> list[Line]:
    """The guide slip's lines in print order: here, other offices, online."""
    lang = slip.language if slip.language in LANGUAGE_CODES else "ja"
    both = bilingual(lang, printable)
    lines = [Line(slip.ward_name, Style.TITLE)]
    lines += both(GUIDE_TITLE, Style.HEADING)
    lines += both(GUIDE_EVENT, Style.LABEL, event=Msgid(slip.event_name))
    lines += both(GUIDE_NUMBER, number=slip.number)
    for place in (HERE, OTHER, ONLINE):
        entries = [e for e in slip.entries if e.place == place]
        if not entries:
            continue
        lines.append(Line("", Style.RULE))
        lines += both(GUIDE_SECTION[place], Style.LABEL)
        for entry in entries:
            lines += _entry(entry, both)
    lines.append(Line("", Style.RULE))
    lines += both(GUIDE_FOOT)
    if slip.status_url:
        lines.append(Line(slip.status_url, Style.QR))
        lines += both(QR_HINT)
    issued = slip.issued_at.strftime("%Y-%m-%d %H:%M")
    lines.append(Line(translator("ja", "kiosk")(ISSUED, time=issued), Style.SMALL))
    return lines


def _entry(entry: GuideEntry, both: Both) -> list[Line]:
    lines = both(BULLET, Style.BODY, name=Msgid(entry.name))
    if entry.place == HERE:
        if entry.stage is not None and entry.counter:
            lines += both(GUIDE_HERE, Style.SMALL, stage=entry.stage, counter=entry.counter)
        else:
            lines += both(GUIDE_HERE_PLAIN, Style.SMALL)
    elif entry.place == OTHER:
        lines += both(GUIDE_OTHER, Style.SMALL, office=Msgid(entry.office or ""))
    elif entry.place == ONLINE:
        lines += both(GUIDE_ONLINE, Style.SMALL, where=entry.url or "")
    if entry.note:
        lines += both(entry.note, Style.SMALL)
    if entry.bring:
        lines += both(GUIDE_BRING, Style.SMALL, things=tuple(Msgid(b) for b in entry.bring))
    else:
        lines += both(GUIDE_NOTHING, Style.SMALL)
    return lines
