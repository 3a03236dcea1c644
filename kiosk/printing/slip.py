"""What a queue ticket says: the content the kiosk fills in and the wording printed.

No I/O and no printer codes here: `slip_lines()` turns a `TicketSlip` into styled lines
(resident's language first, then Japanese) that `kiosk.printing.render` lays out either
as a raster image or as Shift_JIS text.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from kiosk.domain.catalog import Procedure, Ward
from kiosk.domain.session import Ticket
from kiosk.i18n import LANGUAGE_CODES, translator


@dataclass(frozen=True)
class TicketSlip:
    """One resident's ticket, as the kiosk fills it in."""

    ward_name: str          # 北区役所
    procedure_name: str     # 住民票の写し (catalog name = msgid)
    number: str
    counter_group: str      # 1・2番窓口
    issued_at: datetime
    people_ahead: int | None  # None: unknown (offline ticket)
    wait_minutes: int | None  # None: unknown (e.g. the kiosk is offline) — say so honestly
    status_url: str         # the phone status page, printed as a QR code
    language: str = "ja"
    route: tuple[RouteStop, ...] = ()   # a routed visit: its stages in order (else empty)


@dataclass(frozen=True)
class RouteStop:
    """One stage of a routed visit as printed: 1. 住民記録 B  1・2番窓口."""

    seq: int
    service_name: str       # 住民記録 (msgid)
    prefix: str             # B
    counter_group: str      # 1・2番窓口


def counter_group(ward: Ward, service: str) -> str:
    """The counters that call this service: 1・2番窓口 (or their own names)."""
    counters = [c for c in ward.counters if service in c.services]
    if not counters:
        return ward.name
    if all(c.name == f"{c.number}番窓口" for c in counters):
        return "・".join(str(c.number) for c in counters) + "番窓口"
    return "・".join(c.name for c in counters)


def slip_for(ticket: Ticket, procedure: Procedure, ward: Ward, *, issued_at: datetime,
             language: str = "ja") -> TicketSlip:
    """The slip for a ticket the desk issued (kiosk.domain.session.Ticket)."""
    return TicketSlip(
        ward_name=ward.name, procedure_name=procedure.name, number=ticket.number,
        counter_group=counter_group(ward, ticket.service), issued_at=issued_at,
        people_ahead=ticket.people_ahead, wait_minutes=ticket.wait_minutes,
        status_url=ticket.status_url or "", language=language)


class Style(StrEnum):
    TITLE = "title"      # ward name
    HEADING = "heading"  # procedure name
    LABEL = "label"      # "受付番号"
    NUMBER = "number"    # A-012, as large as the paper allows
    BODY = "body"
    SMALL = "small"      # the Japanese line under a translated one
    QR = "qr"            # the status URL as a QR code (text = the URL)
    RULE = "rule"        # a horizontal line


@dataclass(frozen=True)
class Line:
    text: str
    style: Style = Style.BODY


# msgids introduced by the ticket (Japanese source text; translations live in kiosk.po)
NUMBER_LABEL = "受付番号"
COUNTER = "{counter}でお呼びします"
PEOPLE_AHEAD = "お待ちの人数：{n}人"
WAIT_ABOUT = "待ち時間の目安：約{minutes}分"
WAIT_UNKNOWN = "待ち時間の目安：ただいま分かりません"
ISSUED = "発券：{time}"
QR_HINT = "スマートフォンで呼び出し状況を確認できます"
GUIDANCE = "番号が呼ばれたら窓口へお越しください"
KEEP = "お呼びするまでこの券をお持ちください"
ROUTE_LABEL = "この順番で窓口を回ります"
ROUTE_STOP = "{seq}. {service} {prefix}（{counter}）"
ROUTE_SAME_NUMBER = "どの窓口でも同じ番号でお呼びします"
LIST_SEPARATOR = "、"


class Msgid(str):
    """A placeholder value that is itself a msgid: translated into each line's language."""


Both = Callable[..., list[Line]]


def bilingual(lang: str, printable: Callable[[str], bool]) -> Both:
    """`both(msgid, style, **values)`: the line in the resident's language, then the
    Japanese original in small type (once when they are equal). A translated line the
    printer cannot draw falls back to English; `Msgid` values (and tuples of them) are
    translated too."""

    def say(code: str, msgid: str, values: dict[str, object]) -> str:
        tr = translator(code, "kiosk")

        def value(v: object) -> object:
            if isinstance(v, Msgid):
                return tr(v)
            if isinstance(v, tuple):   # a list of msgids, joined the language's way
                return tr(LIST_SEPARATOR).join(str(value(x)) for x in v)
            return v
        return tr(msgid, **{k: value(v) for k, v in values.items()})

    def both(msgid: str, style: Style = Style.BODY, **values: object) -> list[Line]:
        ja = say("ja", msgid, values)
        if lang == "ja":
            return [Line(ja, style)]
        local = say(lang, msgid, values)
        if not printable(local):
            local = say("en", msgid, values)
        if local == ja:
            return [Line(ja, style)]
        return [Line(local, style), Line(ja, Style.SMALL)]

    return both


def slip_lines(slip: TicketSlip, printable: Callable[[str], bool] = lambda _: True,
               ) -> list[Line]:
    """The slip's lines in print order. A translated line the printer cannot draw
    (`printable` false, e.g. Hangul without a Hangul font) falls back to English."""
    lang = slip.language if slip.language in LANGUAGE_CODES else "ja"

    both = bilingual(lang, printable)

    issued = slip.issued_at.strftime("%Y-%m-%d %H:%M")
    lines = [Line(slip.ward_name, Style.TITLE)]
    lines += both(slip.procedure_name, Style.HEADING)
    lines.append(Line("", Style.RULE))
    lines += both(NUMBER_LABEL, Style.LABEL)
    lines.append(Line(slip.number, Style.NUMBER))
    lines += both(COUNTER, counter=slip.counter_group)
    if slip.people_ahead is not None:
        lines += both(PEOPLE_AHEAD, n=slip.people_ahead)
    if slip.wait_minutes is None:
        lines += both(WAIT_UNKNOWN)
    else:
        lines += both(WAIT_ABOUT, minutes=slip.wait_minutes)
    if slip.route:
        lines.append(Line("", Style.RULE))
        lines += both(ROUTE_LABEL, Style.LABEL)
        for stop in slip.route:
            lines += both(ROUTE_STOP, seq=stop.seq, prefix=stop.prefix,
                          counter=stop.counter_group, service=Msgid(stop.service_name))
        lines += both(ROUTE_SAME_NUMBER)
    lines.append(Line("", Style.RULE))
    lines += both(GUIDANCE)
    lines += both(KEEP)
    if slip.status_url:
        lines.append(Line(slip.status_url, Style.QR))
        lines += both(QR_HINT)
    lines.append(Line(translator("ja", "kiosk")(ISSUED, time=issued), Style.SMALL))
    return lines
