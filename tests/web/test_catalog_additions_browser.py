"""The catalog page (/admin/catalog, issue #20) in headless Chromium against a real
back-office: a city-wide admin adds a service and a procedure (with a form field), and
the kiosks' catalog serves them; removing them is refused while they are in use — the
reason next to the button — and done once they are not; a life event's questions and an
item's condition are edited, a condition naming an unknown question is refused next to
its field with nothing typed lost."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from tests.backoffice.conftest import ok
from tests.web.conftest import Shots
from tests.web.test_catalog_browser import (
    admin_catalog,
    catalog,
    catalog_page,
    click_saved,
    life_event,
    procedure,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def device_config(server: Any) -> Any:
    """What a kiosk of kita pulls at its next sync."""
    return ok(requests.get(server.api("/device/config"), timeout=10,
                           headers={"Authorization": f"Bearer {server.kiosk_token}"}))


def refusal(page: Any, where: str) -> str:
    """Wait for the refusal shown next to a remove button and return it."""
    spot = f"{where} .cat-remove .field-error"
    page.wait_for_selector(f"{spot}:not(:empty)")
    return str(page.inner_text(spot))


def test_an_admin_adds_and_removes_a_service_and_a_procedure(backoffice: Any, browser: Any,
                                                             shots: Shots) -> None:
    server = backoffice
    with catalog_page(browser, server, ("422", "409")) as page:
        # a service: its letter is checked like the file's ('a' is no upper-case letter)
        page.fill("#service-code", "pets")
        page.fill("#service-name", "ペットの登録")
        page.eval_on_selector("#service-prefix", "i => i.removeAttribute('pattern')")
        page.fill("#service-prefix", "a")
        page.click("#service-add")
        spot = "#service-form label[data-key=prefix] .field-error"
        page.wait_for_selector(f"{spot}:not(:empty)")
        assert "upper-case letter" in page.inner_text(spot)
        assert page.input_value("#service-code") == "pets"          # nothing typed lost
        page.fill("#service-prefix", "Q")
        click_saved(page, "#service-add")
        assert any(s["code"] == "pets" and s["prefix"] == "Q" for s in catalog(server)["services"])
        page.wait_for_selector("#service-table tr[data-service='pets']")

        # a procedure of that service, with the card's name and one field of its own
        page.select_option("#proc-choose", "")
        page.fill("#proc-code", "dog_register")
        page.select_option("#proc-editor label[data-key=service] select", "pets")
        page.select_option("#proc-editor label[data-key=group] select", "other")
        page.fill("#proc-editor label[data-key=fee_yen] input", "3000")
        page.fill("#proc-editor label[data-key=name] input", "犬の登録")
        page.click("#proc-editor button:text('項目を追加')")
        row = "#field-table tr[data-key='fields[1]']"
        page.fill(f"{row} input[data-part=key]", "dog_name")
        page.fill(f"{row} input[data-part=label]", "犬の名前")
        click_saved(page, "#proc-save")
        p = procedure(server, "dog_register")
        assert (p["service"], p["fee_yen"], [f["key"] for f in p["fields"]]) == \
            ("pets", 3000, ["name", "dog_name"])
        assert page.input_value("#proc-choose") == "dog_register"   # the editor shows it
        served = catalog(server)
        assert any(x["code"] == "dog_register" and x["fee_yen"] == 3000
                   for x in served["procedures"])
        # the ward offers it: its kiosks' catalog (their next sync) has it
        page.check("#offered-services input[value='pets']")
        click_saved(page, "#offered-save")
        assert any(x["code"] == "dog_register" for x in device_config(server)["procedures"])

        # in use: a procedure belongs to the service, a life event lists the procedure
        pets = "#service-table tr[data-service='pets']"
        page.click(f"{pets} .cat-remove button")
        assert "procedures belong to 'pets'" in refusal(page, pets)
        page.select_option("#proc-choose", "tennyu")
        page.click("#proc-editor .cat-remove button")
        assert "life events list 'tennyu'" in refusal(page, "#proc-editor")
        assert procedure(server, "tennyu")
        shots.take(page, "admin-catalog-remove-refused")

        # not in use any more: removed, each a new version; the kiosks no longer get them
        page.select_option("#proc-choose", "dog_register")
        click_saved(page, "#proc-editor .cat-remove button")
        click_saved(page, f"{pets} .cat-remove button")
        served = catalog(server)
        assert not any(s["code"] == "pets" for s in served["services"])
        assert not any(x["code"] == "dog_register" for x in device_config(server)["procedures"])
        record = page.inner_text("#version-table")
        for word in ("catalog.services.pets: added", "catalog.procedures.dog_register: removed",
                     "catalog.services.pets: removed"):
            assert word in record, record


def test_an_admin_edits_a_life_events_questions_and_conditions(backoffice: Any,
                                                               browser: Any,
                                                               shots: Shots) -> None:
    server = backoffice
    with catalog_page(browser, server) as page:
        page.select_option("#event-choose", "tennyu")
        before = life_event(server, "tennyu")

        # a new question; an existing one reworded
        page.click("#event-editor button:text('質問を追加')")
        n = len(before["questions"])
        row = f"#question-table tr[data-key='questions[{n}]']"
        page.fill(f"{row} input[data-part=key]", "car")
        page.fill(f"{row} input[data-part=text]", "車をお持ちですか")
        page.fill("#question-table tr[data-key='questions[0]'] input[data-part=text]",
                  "勤め先の健康保険に入っていますか")
        # an item's condition naming a question the event does not have: refused next to
        # that field, the rest typed stays
        item = "#event-items li[data-key='items[1]']"
        page.fill(f"{item} textarea[data-part=when]", "boat = yes")
        page.fill(f"{item} textarea[data-part=bring]", "車検証\n本人確認書類")
        page.fill(f"{item} input[data-part=note]", "車の住所変更もお忘れなく")
        page.click("#event-save")
        spot = f"{item} label[data-key='items[1].when'] .field-error"
        page.wait_for_selector(f"{spot}:not(:empty)")
        assert "names no earlier question" in page.inner_text(spot)
        assert page.input_value(f"{row} input[data-part=key]") == "car"
        assert page.input_value(f"{item} input[data-part=note]") == "車の住所変更もお忘れなく"
        # moving a question keeps what was typed in every row
        page.click(f"{row} button:text('↑')")
        moved = f"#question-table tr[data-key='questions[{n - 1}]']"
        assert page.input_value(f"{moved} input[data-part=key]") == "car"
        page.click(f"{moved} button:text('↓')")
        page.fill(f"{item} textarea[data-part=when]",
                  "card_holders = 1人 | 2人以上\ncar = yes")
        click_saved(page, "#event-save")

        event = life_event(server, "tennyu")
        assert event["questions"][n] == {"key": "car", "text": "車をお持ちですか",
                                         "kind": "yesno"}
        assert event["questions"][0]["text"] == "勤め先の健康保険に入っていますか"
        assert event["items"][1]["when"] == [{"card_holders": ["1人", "2人以上"]},
                                             {"car": "yes"}]
        assert event["items"][1]["bring"] == ["車検証", "本人確認書類"]
        assert event["items"][1]["note"] == "車の住所変更もお忘れなく"
        # the other items read back from their fields exactly as they were
        assert [i for k, i in enumerate(event["items"]) if k != 1] == \
            [i for k, i in enumerate(before["items"]) if k != 1]
        # redrawn from the new version: the condition reads back as it was written
        assert page.input_value(f"{item} textarea[data-part=when]") == \
            "card_holders = 1人 | 2人以上\ncar = yes"
        shots.take(page, "admin-catalog-life-event-questions")
        assert admin_catalog(server)["version"] > 1
