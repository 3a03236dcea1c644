"""The fuller statistics (kiosk.backoffice.stats) as HTML: three charts drawn here as inline
SVG (waits by hour, the weekly trend, per-counter utilisation — nothing loaded from
elsewhere, no chart library), each with a title and a description for screen readers and
the same figures in a table beside it; series told apart by shape and pattern as well as
colour. Used by the supervisor's statistics page (one ward) and the central page (every
ward side by side, the same definitions). Numbers only: nothing about a person, except
the per-staff table a ward's supervisors see under its rule (stats.staff_figures)."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

from kiosk.backoffice.web.central_view import _name, _table, minutes, share
from kiosk.backoffice.web.phone import t
from kiosk.domain.catalog import Catalog
from kiosk.i18n import Translator

W, H = 460, 220                    # every chart's drawing box
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 48, 34


def _svg(chart_id: str, title: str, desc: str, body: list[str], tr: Translator,
         empty: bool) -> str:
    if empty:
        body.append(f'<text x="{LEFT + 8}" y="{H / 2}">{html.escape(tr("データがありません"))}'
                    "</text>")
    desc = f'{desc} {tr("同じ数値を隣の表に示します。")}'
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart stats-chart" role="img" '
            f'id="{chart_id}" viewBox="0 0 {W} {H}" width="{W}" height="{H}" '
            f'aria-labelledby="{chart_id}-t {chart_id}-d">'
            f'<title id="{chart_id}-t">{html.escape(title)}</title>'
            f'<desc id="{chart_id}-d">{html.escape(desc)}</desc>'
            f'<text x="0" y="16" class="chart-title">{html.escape(title)}</text>'
            + "".join(body) + "</svg>")


def _scale(values: Sequence[float | None]) -> float:
    """The y axis' top in minutes: a round number above the largest value (at least 5)."""
    top = max([v for v in values if v is not None] + [1.0])
    for step in (5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 240):
        if top <= step:
            return float(step)
    return float(top)


def _axes(top_min: float, unit: str) -> list[str]:
    out = [f'<line x1="{LEFT}" y1="{H - BOTTOM}" x2="{W - RIGHT}" y2="{H - BOTTOM}" '
           'class="axis"/>']
    for frac in (0.0, 0.5, 1.0):
        y = H - BOTTOM - frac * (H - TOP - BOTTOM)
        out.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{W - RIGHT}" y2="{y:.1f}" class="grid"/>')
        out.append(f'<text x="{LEFT - 4}" y="{y + 4:.1f}" text-anchor="end">'
                   f"{top_min * frac:g}</text>")
    out.append(f'<text x="{LEFT}" y="{TOP - 6}" class="unit">{html.escape(unit)}</text>')
    return out


def _y(value_min: float, top_min: float) -> float:
    return H - BOTTOM - min(value_min / top_min, 1.0) * (H - TOP - BOTTOM)


def _legend(items: list[tuple[str, str]]) -> list[str]:
    """(css class, label): a swatch in the series' own shape/pattern and its name."""
    out = []
    for i, (cls, label) in enumerate(items):
        xx = LEFT + 40 + i * 170
        out.append(f'<rect x="{xx}" y="23" width="14" height="10" class="swatch {cls}"/>'
                   f'<text x="{xx + 18}" y="32">{html.escape(label)}</text>')
    return out


def _min(seconds: Any) -> float | None:
    return None if seconds is None else seconds / 60


PATTERN = ('<defs><pattern id="{id}" width="6" height="6" patternUnits="userSpaceOnUse" '
           'patternTransform="rotate(45)"><rect width="6" height="6" class="hatch-bg"/>'
           '<line x1="0" y1="0" x2="0" y2="6" class="hatch"/></pattern></defs>')


def _tick(x: float, label: str) -> str:
    """A label under the x axis."""
    return (f'<text x="{x:.1f}" y="{H - BOTTOM + 14}" text-anchor="middle">'
            f"{html.escape(label)}</text>")


def _wait_frame(rows: list[Mapping[str, Any]], tr: Translator, classes: tuple[str, str]
                ) -> tuple[list[Mapping[str, Any]], float, list[str]]:
    """The rows with calls, the y axis' top (minutes), the axes and the p50/p90 legend."""
    used = [r for r in rows if r["called"]]
    top = _scale([_min(r["p90_wait_seconds"]) for r in used])
    legend = _legend([(classes[0], tr("中央値")), (classes[1], tr("90パーセンタイル"))])
    return used, top, [*_axes(top, tr("分")), *legend]


def hours_chart(ward: str, rows: list[Mapping[str, Any]], ward_name: str,
                tr: Translator) -> str:
    """Bars per hour of issue: p50 solid, p90 hatched behind it (the bar's full height)."""
    cid = f"chart-hours-{ward}"
    title = tr("{ward}: 時間帯ごとの待ち時間", ward=ward_name)
    hours, top, body = _wait_frame(rows, tr, ("p50", f'p90" fill="url(#{cid}-hatch)'))
    body.insert(0, PATTERN.format(id=f"{cid}-hatch"))
    slot = (W - LEFT - RIGHT) / max(len(hours), 1)
    for i, r in enumerate(hours):
        x = LEFT + i * slot + slot * 0.15
        bw = slot * 0.7
        for cls, key in (("p90", "p90_wait_seconds"), ("p50", "p50_wait_seconds")):
            y = _y(_min(r[key]) or 0.0, top)
            fill = f' fill="url(#{cid}-hatch)"' if cls == "p90" else ""
            body.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bw:.1f}" '
                        f'height="{H - BOTTOM - y:.1f}" class="{cls}"{fill}/>')
        body.append(_tick(x + bw / 2, str(r["hour"])))
    body.append(f'<text x="{W - RIGHT}" y="{H - 4}" text-anchor="end" class="unit">'
                f'{html.escape(tr("発券の時刻(時)"))}</text>')
    desc = tr("呼び出した番号の待ち時間(発券から最初の呼出まで)の中央値と90パーセンタイル。")
    return _svg(cid, title, desc, body, tr, not hours)


def weeks_chart(ward: str, rows: list[Mapping[str, Any]], ward_name: str,
                tr: Translator) -> str:
    """Lines per ISO week: p90 solid with squares, p50 dashed with circles."""
    cid = f"chart-weeks-{ward}"
    title = tr("{ward}: 週ごとの待ち時間の推移", ward=ward_name)
    weeks, top, body = _wait_frame(rows, tr, ("line-p50", "line-p90"))
    step = (W - LEFT - RIGHT) / max(len(weeks), 1)
    xs = [LEFT + step * (i + 0.5) for i in range(len(weeks))]
    for cls, key, marker in (("line-p90", "p90_wait_seconds", "square"),
                             ("line-p50", "p50_wait_seconds", "circle")):
        pts = [(x, _y(_min(r[key]) or 0.0, top)) for x, r in zip(xs, weeks, strict=True)]
        if len(pts) > 1:
            body.append(f'<polyline class="{cls}" points="'
                        + " ".join(f"{x:.1f},{y:.1f}" for x, y in pts) + '"/>')
        for x, y in pts:
            body.append(f'<rect x="{x - 4:.1f}" y="{y - 4:.1f}" width="8" height="8" '
                        f'class="{marker}"/>' if marker == "square" else
                        f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" class="{marker}"/>')
    every = max(1, len(weeks) // 6)
    for i, (x, r) in enumerate(zip(xs, weeks, strict=True)):
        if i % every == 0:
            body.append(_tick(x, r["week"][-3:]))
    desc = tr("ISO 週ごとの待ち時間の中央値(破線・丸)と90パーセンタイル(実線・四角)。")
    return _svg(cid, title, desc, body, tr, not weeks)


def counters_chart(ward: str, rows: list[Mapping[str, Any]], ward_name: str,
                   tr: Translator) -> str:
    """Horizontal bars: each counter's share of its open time busy, the % written."""
    cid = f"chart-counters-{ward}"
    title = tr("{ward}: 窓口ごとの稼働率", ward=ward_name)
    used = [r for r in rows if r["open_seconds"]]
    row_h = (H - TOP - BOTTOM) / max(len(used), 1)
    row_h = min(row_h, 26.0)
    body = []
    for i, r in enumerate(used):
        y = TOP + i * row_h
        value = r["busy_share"] or 0.0
        width = (W - LEFT - RIGHT - 60) * value
        body.append(f'<text x="{LEFT - 6}" y="{y + row_h * 0.7:.1f}" text-anchor="end">'
                    f'{html.escape(tr("{n}番", n=r["counter"]))}</text>')
        body.append(f'<rect x="{LEFT}" y="{y + 2:.1f}" width="{W - LEFT - RIGHT - 60}" '
                    f'height="{row_h - 4:.1f}" class="bar-bg"/>')
        body.append(f'<rect x="{LEFT}" y="{y + 2:.1f}" width="{width:.1f}" '
                    f'height="{row_h - 4:.1f}" class="bar"/>')
        body.append(f'<text x="{W - RIGHT - 54}" y="{y + row_h * 0.7:.1f}">{share(value)}</text>')
    desc = tr("窓口が開いていた時間のうち、呼出から対応完了(または不在)までの時間の割合。")
    return _svg(cid, title, desc, body, tr, not used)


# ------------------------------------------------------------------------------ tables
def _hours(seconds: Any) -> str:
    return "—" if not isinstance(seconds, int | float) else f"{seconds / 3600:.1f} h"


def _of(rows: list[Mapping[str, Any]], ward: str) -> list[Mapping[str, Any]]:
    return [r for r in rows if r["ward"] == ward]


def _wait_cells(r: Mapping[str, Any], tr: Translator) -> list[str]:
    return [str(r["issued"]), str(r["called"]), minutes(r["p50_wait_seconds"], tr),
            minutes(r["p90_wait_seconds"], tr), share(r["within_target_share"])]


def _pair(chart: str, table: str) -> str:
    return f'<div class="chart-pair"><figure class="chart-box">{chart}</figure>{table}</div>'


def ward_html(s: Mapping[str, Any], ward: str, catalog: Catalog, lang: str,
              csv_base: str) -> str:
    """One ward's charts and tables (the central page puts several side by side)."""
    tr = t(lang)
    name = _name("ward", ward, catalog, lang)
    waits = [tr("発券数"), tr("呼出済み"), tr("中央値"), tr("90パーセンタイル"), tr("目標時間内")]
    hours = _of(s["hours"], ward)
    weeks = _of(s["weeks"], ward)
    counters = _of(s["counters"], ward)
    parts = [f'<section class="stats-ward" data-ward="{html.escape(ward)}">'
             f"<h3>{html.escape(name)}</h3>"]
    parts.append(_pair(hours_chart(ward, hours, name, tr), _table(
        tr("{ward}: 時間帯ごと", ward=name), [tr("時"), *waits],
        [[str(r["hour"]), *_wait_cells(r, tr)] for r in hours], "stats-hours")))
    parts.append(_pair(weeks_chart(ward, weeks, name, tr), _table(
        tr("{ward}: 週ごと", ward=name), [tr("週"), *waits, tr("平均対応時間")],
        [[r["week"], *_wait_cells(r, tr), minutes(r["mean_service_seconds"], tr)]
         for r in weeks], "stats-weeks")))
    parts.append(_pair(counters_chart(ward, counters, name, tr), _table(
        tr("{ward}: 窓口ごと", ward=name),
        [tr("窓口"), tr("対応完了"), tr("不在"), tr("平均対応時間"), tr("開いていた時間"),
         tr("稼働率")],
        [[tr("{n}番", n=r["counter"]), str(r["completed"]), str(r["no_shows"]),
          minutes(r["mean_service_seconds"], tr), _hours(r["open_seconds"]),
          share(r["busy_share"])] for r in counters], "stats-counters")))
    parts.append(_table(tr("{ward}: 月ごと", ward=name), [tr("年月"), *waits, tr("平均対応時間")],
                        [[r["month"], *_wait_cells(r, tr),
                          minutes(r["mean_service_seconds"], tr)]
                         for r in _of(s["months"], ward)], "stats-months"))
    parts.append(_table(
        tr("{ward}: 対応時間(開始から完了まで)", ward=name),
        [tr("業務"), tr("手続き"), tr("件数"), tr("平均"), tr("中央値"), tr("90パーセンタイル")],
        [[_name("service", r["service"], catalog, lang),
          _procedures(r["procedure"], catalog, lang, tr), str(r["n"]),
          minutes(r["mean_seconds"], tr), minutes(r["p50_seconds"], tr),
          minutes(r["p90_seconds"], tr)] for r in _of(s["service_times"], ward)],
        "stats-service"))
    parts.append(_table(
        tr("{ward}: ライフイベントの来庁(庁内滞在時間)", ward=name),
        [tr("ライフイベント"), tr("来庁数"), tr("完了"), tr("平均"), tr("中央値"),
         tr("90パーセンタイル")],
        [[tr("すべて") if r["life_event"] is None else r["life_event"], str(r["visits"]),
          str(r["completed"]), minutes(r["mean_time_in_office_seconds"], tr),
          minutes(r["p50_time_in_office_seconds"], tr),
          minutes(r["p90_time_in_office_seconds"], tr)] for r in _of(s["life_events"], ward)],
        "stats-life"))
    parts.append(_table(
        tr("{ward}: 予約の時間どおり", ward=name),
        [tr("業務"), tr("予約"), tr("受付"), tr("遅れて受付"), tr("来庁なし"),
         tr("予約時刻から呼出まで(中央値)"), tr("予約時刻から5分以内に呼出")],
        [[_name("service", r["service"], catalog, lang), str(r["booked"]),
          str(r["checked_in"]), str(r["late"]), f'{r["no_shows"]} ({share(r["no_show_share"])})',
          minutes(r["p50_call_vs_slot_seconds"], tr), share(r["called_on_time_share"])]
         for r in _of(s["appointments"], ward)], "stats-appointments"))
    parts.append(csv_links(csv_base, tr))
    parts.append("</section>")
    return "".join(parts)


def _procedures(code: str | None, catalog: Catalog, lang: str, tr: Translator) -> str:
    if not code:
        return tr("すべて")
    return " + ".join(_name("procedure", c, catalog, lang) for c in code.split("+"))


CSV_TABLES = ("summary", "hours", "weeks", "months", "service_times", "counters",
              "life_events", "appointments")


def csv_links(base: str, tr: Translator) -> str:
    links = " ".join(f'<a class="csv" href="{html.escape(base.format(table=name))}" download>'
                     f"{name}.csv</a>" for name in CSV_TABLES)
    return f'<p class="csv-links">{html.escape(tr("CSV をダウンロード"))}: {links}</p>'


def summary_table(s: Mapping[str, Any], catalog: Catalog, lang: str) -> str:
    """Every ward in one table, the same definitions (the central page's comparison)."""
    tr = t(lang)
    return _table(tr("区役所ごとの比較(同じ定義)"),
                  [tr("区役所"), tr("発券数"), tr("呼出済み"), tr("中央値"),
                   tr("90パーセンタイル"), tr("目標時間内"), tr("平均対応時間")],
                  [[_name("ward", r["ward"], catalog, lang), *_wait_cells(r, tr),
                    minutes(r["mean_service_seconds"], tr)] for r in s["summary"]],
                  "stats-summary")


STAFF_RULE = ("職員ごとの数値は7日以上の期間で、完了{n}件以上の職員だけを名前順に示します"
              "(順位付けはしません)。それ未満の職員はまとめて示します。")


def staff_html(f: Mapping[str, Any] | None, lang: str, refusal: str = "") -> str:
    """The per-staff table under its rule, or why there is none."""
    tr = t(lang)
    note = tr(STAFF_RULE, n=f["min_tickets"] if f else 30)
    if f is None:
        return f'<p class="note">{html.escape(note)}</p><p class="note">{html.escape(refusal)}</p>'
    heads = [tr("職員"), tr("完了"), tr("勤務日数"), tr("平均対応時間"), tr("中央値")]
    rows = [[r["username"], str(r["completed"]), str(r["days"]),
             minutes(r["mean_service_seconds"], tr), minutes(r["p50_service_seconds"], tr)]
            for r in f["staff"]]
    o, total = f["others"], f["ward_total"]
    if o["people"]:
        rows.append([tr("その他({n}人)", n=o["people"]), str(o["completed"]), "—",
                     minutes(o["mean_service_seconds"], tr),
                     minutes(o["p50_service_seconds"], tr)])
    rows.append([tr("区役所全体({n}人)", n=total["people"]), str(total["completed"]), "—",
                 minutes(total["mean_service_seconds"], tr),
                 minutes(total["p50_service_seconds"], tr)])
    return (f'<p class="note">{html.escape(note)}</p>'
            + _table(tr("職員ごとの対応(集計)"), heads, rows, "stats-staff"))
