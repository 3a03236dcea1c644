"""The kiosk's application record as labelled rows a counter clerk can read at a glance.

Labels come from the procedure's form in the catalog; dates also in 和暦, sex codes in
words, the 個人番号 only ever as the masked check the record holds.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any

from kiosk.domain.catalog import Catalog, FieldKind
from kiosk.domain.wareki import wareki

log = logging.getLogger(__name__)

SEX_WORDS = {"0": "不明", "1": "男", "2": "女", "9": "適用不能"}
IDENTITY_WORDS = {
    "card": "マイナンバーカードから読み取り",
    "typed": "キオスクで本人が入力",
    "assisted": "窓口で職員が記入(「職員に相談」)",
}
AUTHENTICITY_WORDS = {
    "genuine": "真正性確認済み",
    "not_verifiable": "真正性を確認できず",
    "tampered": "改ざんの疑い — 本人確認書類を確認してください",
}


def _value_text(kind: FieldKind | None, value: Any) -> str:
    if isinstance(value, Mapping) and "masked" in value:
        ok = value.get("check_digit_ok")
        return f"{value['masked']}(チェックデジット: {'正常' if ok else '不一致'})"
    if isinstance(value, list | tuple):
        return "、".join(str(v) for v in value) if value else "(なし)"
    if kind is FieldKind.SEX:
        return SEX_WORDS.get(str(value), str(value))
    if kind is FieldKind.DATE and isinstance(value, str):
        try:
            return f"{value}({wareki(date.fromisoformat(value))})"
        except ValueError:
            return value
    return str(value)


# The card check (kiosk.domain.card_check) for the clerk: which key opened the card, the
# offline check's result — flagged unless genuine, so the clerk looks at the card itself —
# and a 個人番号 the card did not give (照合番号B does not open it).
CARD_CHECK_WORDS = {
    "heading": "カードの確認",
    "key": "カードの読み取り",
    "pin": "暗証番号で読み取り",
    "code_b": "照合番号B(生年月日・有効期限・セキュリティコード)で読み取り — 暗証番号なし",
    "result": "電子署名の確認",
    "genuine": "確認済み",
    "not_verifiable": "要確認 — 電子署名を確認できませんでした。カードの原本を確認してください",
    "tampered": "要確認 — 改ざんの疑い。カードの原本と本人確認書類を確認してください",
    "number": "個人番号",
    "my_number_at_counter": "窓口で確認してください(照合番号Bでは読み取れません)",
}


def card_check_section(application: Mapping[str, Any]) -> dict[str, Any] | None:
    """Rows about the card, for an application read from a card; `flag` marks what the
    clerk must act on. The words are staff words (web catalog), marked `staff_word`."""
    if application.get("identity") != "card":
        return None
    w = CARD_CHECK_WORDS
    rows: list[dict[str, Any]] = []
    key = application.get("card_key")
    if key in ("pin", "code_b"):
        rows.append({"key": "card_key", "label": w["key"], "value": w[key], "raw": key,
                     "staff_word": True})
    auth = application.get("authenticity")
    if auth in ("genuine", "not_verifiable", "tampered"):
        rows.append({"key": "card_check", "label": w["result"], "value": w[auth], "raw": auth,
                     "staff_word": True, "flag": auth != "genuine"})
    if "my_number_at_counter" in (application.get("notes") or ()):
        rows.append({"key": "my_number_at_counter", "label": w["number"],
                     "value": w["my_number_at_counter"], "staff_word": True, "flag": True})
    return {"heading": w["heading"], "rows": rows} if rows else None


PURGED_NOTE = "個人情報は保存期間を過ぎると削除されます。必要なら本人確認書類で確認してください。"
PURGE_REASON_WORDS = {"finished": "受付が終わり(完了・取消・不在)、保存期間が過ぎたため",
                      "retention": "発券からの保存期限が過ぎたため"}


def purged_section(purged: Mapping[str, Any],
                   tr: Callable[..., str] = lambda text, **kw: text.format(**kw)
                   ) -> dict[str, Any]:
    """What the clerk sees once the record was deleted (kiosk.backoffice.retention), in
    the clerk's language when `tr` is the web catalog's."""
    at = str(purged.get("at") or "")
    when = at[:16].replace("T", " ") if at else "—"
    code = str(purged.get("reason"))
    reason = tr(PURGE_REASON_WORDS[code]) if code in PURGE_REASON_WORDS else code
    return {"heading": "申請内容", "rows": [
        {"label": "状態", "value": tr("削除済み({reason}、{when} に削除)", reason=reason,
                                      when=when)},
        {"label": "確認方法",
         "value": tr(PURGED_NOTE)}]}


def application_sections(ticket: Mapping[str, Any], catalog: Catalog) -> dict[str, Any]:
    """The ticket's application laid out as the printed form reads (sections of labelled
    rows) by `kiosk.printing.forms.application_data`, so the clerk sees what prints; while
    that is unavailable or refuses the record, the plain labelled rows below. A purged
    record says so (`purged` = when and why) instead of looking like none was sent."""
    purged = ticket.get("application_purged")
    if purged:
        return {"title": None, "purged": purged, "sections": [purged_section(purged)]}
    application = ticket.get("application")
    if not application:
        return {"title": None, "sections": []}
    try:
        from kiosk.domain.application import Application
        from kiosk.printing.forms import application_data

        procedure = catalog.procedure(str(application.get("procedure")))
        issued = ticket.get("issued_at")
        data = application_data(
            procedure, Application.from_dict(application, procedure),
            ward=catalog.ward(str(ticket.get("ward"))), ticket_number=ticket.get("number"),
            issued_at=datetime.fromisoformat(issued) if isinstance(issued, str) else None)
        sections = [{"heading": s["heading"],
                     "rows": [{"label": i["label"], "value": str(i["display"]),
                               "key": i["key"], "kind": i.get("kind"), "raw": i["value"]}
                              for i in s["items"]]}
                    for s in data["sections"]]
        check = card_check_section(application)
        return {"title": data.get("title"), "sections": sections + ([check] if check else [])}
    except Exception:  # the clerk still gets the data, only less neatly laid out
        log.warning("application_data unavailable for ticket %s; plain rows shown",
                    ticket.get("id"), exc_info=True)
        check = card_check_section(application)
        return {"title": None, "sections": [{"heading": "申請内容",
                                             "rows": application_rows(application, catalog)}]
                + ([check] if check else [])}


def application_rows(application: Mapping[str, Any] | None,
                     catalog: Catalog) -> list[dict[str, str]]:
    """[{"label", "value"}] in the form's own field order; unknown keys last, never dropped."""
    if not application:
        return []
    values = application.get("values") or {}
    procedure = catalog.procedures.get(str(application.get("procedure")))
    rows: list[dict[str, str]] = []
    if procedure is not None:
        rows.append({"label": "手続き", "value": procedure.name})
    seen: set[str] = set()
    for f in procedure.fields if procedure else ():
        if f.key in values:
            text = _value_text(f.kind, values[f.key])
            rows.append({"label": f.label, "value": f"{text} 通" if f.key == "copies" else text})
            seen.add(f.key)
    for key, value in values.items():
        if key not in seen:
            rows.append({"label": key, "value": _value_text(None, value)})
    identity = application.get("identity")
    if identity:
        rows.append({"label": "本人情報の入手方法",
                     "value": IDENTITY_WORDS.get(identity, str(identity))})
    authenticity = application.get("authenticity")
    if authenticity:
        rows.append({"label": "カードの真正性",
                     "value": AUTHENTICITY_WORDS.get(authenticity, str(authenticity))})
    language = application.get("language")
    if language and language != "ja":
        rows.append({"label": "申請者の言語", "value": str(language)})
    for note in application.get("notes") or ():
        rows.append({"label": "備考", "value": str(note)})
    return rows
