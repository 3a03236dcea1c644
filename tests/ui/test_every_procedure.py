"""Every catalog procedure of the kiosk's ward WITHOUT a card, in every language: each
field the form needs is given on the screen the kiosk shows for it — the kana keyboard,
the number pad (dates as YYYYMMDD, years) or the choice buttons — by the buttons that are
on screen (found by their action and released as a touch releases them; one frame drawn
at the confirmation and at the ticket so every text is rendered), ending on a ticket.

All procedures in ja, en and vi; in the other languages the simplest and the longest
no-card form (the card version is test_visits.py's
test_every_procedure_with_a_card_in_every_language)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from kiosk.domain.application import Identity
from kiosk.domain.catalog import FieldKind, FieldSource
from kiosk.domain.session import EntryMode, PayMethod, Step, entry_mode, field_choices

pytestmark = [pytest.mark.kivy, pytest.mark.slow]

ALL_PROCEDURES = ("ja", "en", "vi")
KANA = "きた"
DIGITS = {FieldKind.DATE: "19850307", FieldKind.YEAR: "2024"}


def release(k: Any, *action: Any) -> None:
    """What a touch on the enabled, visible button with this action does."""
    w = k.h.find(*action)
    assert w.opacity > 0, (k.s.step, action)
    w.dispatch("on_release")


def give(k: Any, lang: str) -> dict[str, Any]:
    """Every field of the entry screen, one after another, on the keys it offers."""
    from kiosk.i18n import translator
    tr = translator(lang)
    given: dict[str, Any] = {}
    while k.s.step is Step.ENTRY:
        f = k.s.entry_field()
        assert k.app.screen(Step.ENTRY).ids.label.text == tr(f.label), (lang, f.key)
        mode = entry_mode(f)
        if mode is EntryMode.CHOICE:
            value = field_choices(f)[0][0]
            release(k, "entry_done", value)
            given[f.key] = value
            continue
        keys = DIGITS[f.kind] if mode is EntryMode.DIGITS else KANA
        for ch in keys:
            release(k, "entry_press", ch)
        assert k.s.entry_text == keys, (lang, f.key, k.s.entry_text)
        release(k, "entry_done")
        given[f.key] = keys
    return given


@pytest.fixture
def sync_kiosk(kiosk: Any) -> Iterator[Any]:
    """No worker thread: ~80 visits quickly (the threading is tested elsewhere)."""
    from kiosk.ui.kioskapp import thread_runner
    c = kiosk.app.controller
    c.runner = lambda work, then: then(work())
    try:
        yield kiosk
    finally:
        c.runner = thread_runner


def typed_fields(p: Any) -> int:
    """How many fields a resident without a card gives for this procedure."""
    return len(p.card_fields) + sum(1 for f in p.fields
                                    if f.source is FieldSource.RESIDENT and f.required)


def test_every_procedure_without_a_card_in_every_language(sync_kiosk: Any) -> None:
    from kiosk.i18n import translator
    k = sync_kiosk
    procedures = list(k.s.procedures)
    short = min(procedures, key=typed_fields)
    long = max(procedures, key=typed_fields)
    visits = 0
    for lang in k.s.settings.languages:
        for p in procedures:
            if lang not in ALL_PROCEDURES and p not in (short, long):
                continue
            k.app.act("set_language", lang)
            release(k, "start")
            release(k, "choose_procedure", p.code)
            release(k, "choose_no_card")
            assert k.s.step is Step.ENTRY, (lang, p.code, k.s.notice)
            given = give(k, lang)
            assert k.s.step is Step.CONFIRM, (lang, p.code, k.s.notice)
            for f in k.s.missing():  # required choices the form still lacks
                release(k, "edit", f.key)
                given |= give(k, lang)
            k.h.pump()
            release(k, "confirm")
            if k.s.step is Step.PAYMENT:
                release(k, "choose_payment", PayMethod.COUNTER)
            assert k.s.step is Step.TICKET, (lang, p.code, k.s.notice)
            k.h.pump()
            assert k.app.title_text == translator(lang)("番号札")
            assert k.s.ticket.number in k.labels()
            issued = k.desk.issued[-1]
            assert issued.procedure == p.code and issued.identity is Identity.TYPED
            for key, value in given.items():
                got = issued.values[key]
                assert str(got).replace("-", "") == value or got == value, (p.code, key, got)
            k.app.act("cancel")
            visits += 1
    assert visits == len(ALL_PROCEDURES) * len(procedures) + 2 * (
        len(k.s.settings.languages) - len(ALL_PROCEDURES))
