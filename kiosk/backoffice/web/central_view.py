"""The central office's period figures as the page's tables, its chart and the CSV rows,
in the staff member's language. Numbers only: the figures carry no personal data."""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

from kiosk.backoffice.central import flat_rows
from kiosk.backoffice.web.phone import catalog_name, t
from kiosk.domain.catalog import Catalog
from kiosk.i18n import Translator

KIND_WORDS = {"ward": "区役所計", "service": "業務", "procedure": "手続き"}
CSV_HEADERS = ("期間開始", "期間終了", "区役所コード", "区役所", "区分", "コード", "名称",
               "発券数", "対応完了", "不在", "取消", "呼出済み", "平均待ち時間(秒)",
               "90パーセンタイル待ち時間(秒)", "目標待ち時間(秒)", "目標時間内の件数",
               "目標時間内の割合")


def minutes(seconds: Any, tr: Translator) -> str:
    if not isinstance(seconds, int | float):
        return "—"
    return tr("{m} 分", m=f"{seconds / 60:.1f}")


def share(value: Any) -> str:
    return "—" if not isinstance(value, int | float) else f"{value * 100:.1f}%"


def _name(kind: str, code: str | None, catalog: Catalog, lang: str) -> str:
    source: Mapping[str, Any] = {"ward": catalog.wards, "service": catalog.services,
                                 "procedure": catalog.procedures}[kind]
    item = source.get(code or "")
    if item is not None:
        return catalog_name(str(item.name), lang)
    return t(lang)("(記録なし)") if not code else code


def csv_rows(figures: Mapping[str, Any], catalog: Catalog, lang: str) -> list[list[Any]]:
    """Header + one row per ward, ward × service, ward × procedure. Seconds and shares as
    plain numbers, so a spreadsheet can compute with them."""
    tr = t(lang)
    rows: list[list[Any]] = [[tr(h) for h in CSV_HEADERS]]
    for r in flat_rows(figures):
        kind = r["kind"]
        rows.append([figures["from"], figures["to"], r["ward"],
                     _name("ward", r["ward"], catalog, lang), tr(KIND_WORDS[kind]), r["code"],
                     _name(kind, r["code"] or None, catalog, lang) if kind != "ward" else "",
                     *("" if r[c] is None else r[c] for c in (
                         "issued", "served", "no_shows", "cancelled", "called",
                         "mean_wait_seconds", "p90_wait_seconds", "target_wait_seconds",
                         "within_target", "within_target_share"))])
    return rows


def _table(caption: str, heads: list[str], rows: list[list[str]], cls: str = "") -> str:
    head = "".join(f'<th scope="col">{html.escape(h)}</th>' for h in heads)
    body = "".join(
        "<tr>" + f'<th scope="row">{html.escape(r[0])}</th>'
        + "".join(f"<td>{html.escape(c)}</td>" for c in r[1:]) + "</tr>" for r in rows)
    return (f'<table class="data {cls}"><caption>{html.escape(caption)}</caption>'
            f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")


def _figures(item: Mapping[str, Any], tr: Translator) -> list[str]:
    return [str(item["issued"]), str(item["served"]), str(item["no_shows"]),
            minutes(item["mean_wait_seconds"], tr), minutes(item["p90_wait_seconds"], tr),
            share(item["within_target_share"])]


def period_tables_html(figures: Mapping[str, Any], catalog: Catalog, lang: str) -> str:
    tr = t(lang)
    common = [tr("発券数"), tr("対応完了"), tr("不在"), tr("平均待ち時間"),
              tr("90パーセンタイル"), tr("目標時間内")]
    wards = [[_name("ward", w["ward"], catalog, lang), *_figures(w, tr)]
             for w in figures["wards"]]
    parts = [_table(tr("区役所ごとの比較"), [tr("区役所"), *common], wards, "central-wards")]
    for w in figures["wards"]:
        ward_name = _name("ward", w["ward"], catalog, lang)
        services = [[_name("service", s["service"], catalog, lang),
                     minutes(s["target_wait_seconds"], tr), *_figures(s, tr)]
                    for s in w["services"]]
        procedures = [[_name("procedure", p["procedure"], catalog, lang), *_figures(p, tr)[:5]]
                      for p in w["procedures"]]
        parts.append(f'<section class="panel" data-ward="{html.escape(w["ward"])}">'
                     f"<h3>{html.escape(ward_name)}</h3>")
        parts.append(_table(tr("{ward}: 業務ごと", ward=ward_name),
                            [tr("業務"), tr("目標待ち時間"), *common], services))
        if procedures:
            parts.append(_table(tr("{ward}: 手続きごと", ward=ward_name),
                                [tr("手続き"), *common[:5]], procedures))
        if w.get("visits") and w["visits"]["visits"]:
            parts.append(_visits_table(w["visits"], ward_name, catalog, lang))
        parts.append("</section>")
    return "".join(parts)


def _visits_table(v: Mapping[str, Any], ward_name: str, catalog: Catalog, lang: str) -> str:
    """Routed visits: time in office (issue → last stage completed) and each stage's wait."""
    tr = t(lang)
    rows = [[tr("来庁全体"), str(v["visits"]), str(v["completed"]), "—", "—",
             minutes(v["mean_time_in_office_seconds"], tr)]]
    rows += [[_name("service", s["service"], catalog, lang), str(s["visits"]),
              str(s["stages"]), minutes(s["mean_stage_wait_seconds"], tr),
              minutes(s["mean_stage_service_seconds"], tr),
              minutes(s["mean_time_in_office_seconds"], tr)] for s in v["services"]]
    return _table(tr("{ward}: 複数手続きの来庁(段階ごと)", ward=ward_name),
                  [tr("業務"), tr("来庁数"), tr("完了した段階"), tr("段階の平均待ち時間"),
                   tr("段階の平均対応時間"), tr("平均庁内滞在時間")], rows, "central-visits")


def chart_svg(figures: Mapping[str, Any], catalog: Catalog, lang: str) -> str:
    """Horizontal bars: per ward and service, the share of called tickets within the
    service's target wait (0–100 %). Drawn here, so the page loads nothing else."""
    tr = t(lang)
    rows = [(w["ward"], s) for w in figures["wards"] for s in w["services"] if s["called"]]
    label_w, bar_w, row_h, top = 330, 360, 26, 30
    height = top + max(len(rows), 1) * row_h + 26
    width = label_w + bar_w + 80
    title = tr("目標待ち時間内に呼ばれた割合(区役所・業務ごと)")
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
           f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
           f'aria-labelledby="chart-title"><title id="chart-title">{html.escape(title)}</title>',
           f'<text x="0" y="18" class="chart-title">{html.escape(title)}</text>']
    if not rows:
        out.append(f'<text x="0" y="{top + 18}">{html.escape(tr("この期間の呼出はありません"))}'
                   "</text>")
    for i, (ward, s) in enumerate(rows):
        y = top + i * row_h
        label = (f"{_name('ward', ward, catalog, lang)} · "
                 f"{_name('service', s['service'], catalog, lang)}")
        value = s["within_target_share"] or 0.0
        out.append(f'<text x="{label_w - 8}" y="{y + 17}" text-anchor="end">'
                   f"{html.escape(label)}</text>")
        out.append(f'<rect x="{label_w}" y="{y + 4}" width="{bar_w}" height="{row_h - 8}" '
                   'class="bar-bg"/>')
        out.append(f'<rect x="{label_w}" y="{y + 4}" width="{round(bar_w * value, 1)}" '
                   f'height="{row_h - 8}" class="bar"/>')
        out.append(f'<text x="{label_w + bar_w + 6}" y="{y + 17}">{share(value)}</text>')
    for pct in (0, 50, 100):
        x = label_w + bar_w * pct / 100
        out.append(f'<text x="{x}" y="{height - 6}" text-anchor="middle">{pct}%</text>')
    out.append("</svg>")
    return "".join(out)
