"""The admin page (/admin, issue #20) in headless Chromium against a real back-office: the
city-wide admin creates, disables, re-enables and resets a staff account, enrols a kiosk,
rotates and revokes its token — each change works at once for the account or device and
is in the audit trail; a ward's admin is refused what only a city-wide admin may do, with
the server's reason on the page; a supervisor is refused the page."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.backoffice.accounts import create_account
from tests.web.conftest import Shots
from tests.web.test_pages_browser import login, watch_errors

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def sign_in_works(server: Any, username: str, password: str) -> bool:
    r = requests.post(server.api("/auth/login"), timeout=10,
                      json={"username": username, "password": password})
    return r.status_code == 200


def token_works(server: Any, token: str) -> bool:
    r = requests.get(server.api("/device/config"), timeout=10,
                     headers={"Authorization": f"Bearer {token}"})
    return r.status_code == 200


def open_admin(page: Any, server: Any, who: str) -> None:
    login(page, server, who)
    page.wait_for_selector("#counter-view:not([hidden]), #work-view:not([hidden])")
    page.goto(f"{server.url}/admin")
    page.wait_for_selector("body[data-rendered]")


def refused_to_a_supervisor(browser: Any, server: Any, path: str) -> None:
    context = browser.new_context(locale="ja-JP")   # another person: no cookie of the admin
    try:
        other = context.new_page()
        login(other, server, "supervisor")
        other.wait_for_selector("#counter-view:not([hidden]), #work-view:not([hidden])")
        r = other.goto(f"{server.url}{path}")
        assert r is not None and r.status == 403
    finally:
        context.close()


def shown_secret(page: Any) -> str:
    page.wait_for_selector("#adm-secret:not([hidden])")
    return str(page.inner_text("#adm-secret-value")).strip()


def set_canary(page: Any, server: Any) -> None:
    """Through the page: kita's kiosks on 2.0, 2.1 first on kiosk-kita-1 — which is told."""
    page.select_option("#release-version", "2.0")
    page.select_option("#release-canary-version", "2.1")
    page.select_option("#release-canary", ["kiosk-kita-1"])
    page.click("#release-set")
    page.wait_for_selector("#ward-release-table tr[data-ward='kita'] "
                           ".rel-version:has-text('2.1')")
    kiosk = requests.get(server.api("/device/release"), timeout=10, headers={
        "Authorization": f"Bearer {server.kiosk_token}"}).json()
    assert kiosk["version"] == "2.1"


def test_admin_manages_accounts_and_devices(backoffice: Any, browser: Any,
                                            shots: Shots) -> None:
    server = backoffice
    context = browser.new_context(locale="ja-JP")
    errors: list[str] = []
    try:
        page = watch_errors(context.new_page(), errors)
        open_admin(page, server, "admin")

        # a staff account: created with a generated password, shown once
        page.fill("#staff-username", "clerk-7")
        page.select_option("#staff-role", "staff")
        page.select_option("#staff-ward", "kita")
        page.click("#staff-create")
        password = shown_secret(page)
        assert sign_in_works(server, "clerk-7", password)
        row = "#staff-table tr[data-user='clerk-7']"
        page.click(f"{row} button.danger")                     # disable
        page.wait_for_selector(f"{row} .adm-active:text('無効')")
        assert not sign_in_works(server, "clerk-7", password)
        page.click(f"{row} button:text('有効化')")
        page.wait_for_selector(f"{row} button.danger")
        page.click(f"{row} button:text('パスワード再設定')")
        fresh = shown_secret(page)
        assert fresh != password and sign_in_works(server, "clerk-7", fresh)
        assert not sign_in_works(server, "clerk-7", password)

        # a kiosk: enrolled (its token shown once), re-keyed, revoked
        page.fill("#device-name", "kiosk-kita-9")
        page.select_option("#device-kind", "kiosk")
        page.select_option("#device-ward", "kita")
        page.click("#device-create")
        token = shown_secret(page)
        assert token.startswith("dv_") and token_works(server, token)
        drow = "#device-table tr[data-device='kiosk-kita-9']"
        page.click(f"{drow} button:text('トークン再発行')")
        rotated = shown_secret(page)
        assert rotated != token and token_works(server, rotated)
        assert not token_works(server, token)
        page.click(f"{drow} button:text('登録コード発行')")
        code = shown_secret(page)
        assert code.startswith("en_")
        page.click(f"{drow} button.danger")
        page.wait_for_selector(f"{drow} .adm-active:text('登録解除')")
        assert not token_works(server, rotated)

        audit = page.inner_text("#audit-table")
        for word in ("clerk-7", "kiosk-kita-9", "無効化", "トークン再発行", "登録コード発行",
                     "登録解除"):
            assert word in audit
        shots.take(page, "admin-page")

        # the server's rules, not the page's: a name taken is refused with its reason
        page.fill("#staff-username", "clerk-7")
        page.click("#staff-create")
        page.wait_for_selector("#adm-error:not(:empty)")
        assert errors == [] or all("409" in e for e in errors)
    finally:
        context.close()


def test_a_ward_admin_is_held_to_its_ward_and_a_supervisor_is_refused(
        backoffice: Any, browser: Any) -> None:
    server = backoffice
    server.passwords["admin-kita"] = create_account(server, "admin-kita", "admin", "kita")
    context = browser.new_context(locale="ja-JP")
    try:
        page = context.new_page()
        open_admin(page, server, "admin-kita")
        wards = page.eval_on_selector_all("#staff-ward option", "os => os.map(o => o.value)")
        assert wards == ["kita"]
        users = page.eval_on_selector_all("#staff-table tr[data-user]",
                                          "rs => rs.map(r => r.dataset.user)")
        assert "admin" not in users and "admin-kita" in users
        page.fill("#staff-username", "boss-2")
        page.select_option("#staff-role", "admin")
        page.click("#staff-create")
        page.wait_for_selector("#adm-error:not(:empty)")
        assert "city-wide" in page.inner_text("#adm-error")
        assert not sign_in_works(server, "boss-2", "x" * 12)

    finally:
        context.close()
    refused_to_a_supervisor(browser, server, "/admin")


def test_a_ward_admin_sets_its_wards_release(backoffice_factory: Any, browser: Any,
                                            tmp_path: Any, shots: Shots) -> None:
    """Kiosk fleet: the releases a city-wide admin registered are listed; a ward's admin
    chooses one for its ward (or holds back), and a canary; kiosks are told at once; it is
    audited."""
    from tests.support.fleet import fleet_config, register

    server = backoffice_factory.start(config=fleet_config(tmp_path / "bundles"))
    register(server, tmp_path / "bundles", "2.0")
    server.passwords["admin-kita"] = create_account(server, "admin-kita", "admin", "kita")
    context = browser.new_context(locale="ja-JP")
    try:
        errors: list[str] = []
        page = watch_errors(context.new_page(), errors)
        open_admin(page, server, "admin-kita")
        assert page.is_visible("#release-table tr[data-release='2.0']")
        page.select_option("#release-version", "2.0")
        page.click("#release-set")
        page.wait_for_selector("#ward-release-table tr[data-ward='kita'] .rel-version")
        assert page.inner_text("#ward-release-table tr[data-ward='kita'] .rel-version") == "2.0"
        kiosk = requests.get(server.api("/device/release"), timeout=10, headers={
            "Authorization": f"Bearer {server.kiosk_token}"}).json()
        assert kiosk["version"] == "2.0"
        page.wait_for_selector("#audit-table td:has-text('配信版の設定')")
        shots.take(page, "admin-kiosk-release")
        page.select_option("#release-version", "")          # hold the ward back
        page.click("#release-set")
        page.wait_for_selector("#ward-release-table tr[data-ward='kita'] "
                               ".rel-version:has-text('保留')")
        register(server, tmp_path / "bundles", "2.1")       # the ward's admin: a canary
        page.reload()
        page.wait_for_selector("#release-canary option[value='kiosk-kita-1']")
        set_canary(page, server)
        assert errors == []
    finally:
        context.close()


@contextlib.contextmanager
def fleet_admin(backoffice_factory: Any, browser: Any, tmp_path: Any,
                target: bool) -> Iterator[tuple[Any, Any, bytes, list[str]]]:
    """A back-office serving bundles, release 2.0 registered (the target of kita when
    `target`) and 2.1's bundle in the folder, unregistered; the city-wide admin's /admin
    page. Yields the server, the page, 2.1's bytes and the page's errors."""
    from hardware.updater import make_bundle
    from tests.support.fleet import fleet_config, publish, register

    bundles = tmp_path / "bundles"
    server = backoffice_factory.start(config=fleet_config(bundles))
    (publish if target else register)(server, bundles, "2.0")
    data = make_bundle(bundles / "kiosk-2.1.raucb", "2.1").read_bytes()
    context = browser.new_context(locale="ja-JP")
    try:
        errors: list[str] = []
        page = watch_errors(context.new_page(), errors)
        open_admin(page, server, "admin")
        yield server, page, data, errors
    finally:
        context.close()


def test_a_city_admin_registers_withdraws_and_a_ward_gets_a_canary(
        backoffice_factory: Any, browser: Any, tmp_path: Any, shots: Shots) -> None:
    """The city-wide admin registers a release through the page (a taken version and a
    file not in the bundle folder are refused next to the form, what was typed kept),
    withdraws one (refused while a ward targets it) and republishes it, and sets a ward's
    canary: the named kiosk is told the canary version."""
    import hashlib

    with fleet_admin(backoffice_factory, browser, tmp_path, target=False) as (server, page,
                                                                             data, errors):
        typed = {"#reg-version": "2.1", "#reg-sha256": hashlib.sha256(data).hexdigest(),
                 "#reg-size": str(len(data)), "#reg-filename": "kiosk-2.1.raucb",
                 "#reg-notes": "canary first"}

        def submit(**changes: str) -> None:
            for field, text in {**typed, **changes}.items():
                page.fill(field, text)
            page.click("#release-register")

        submit(**{"#reg-version": "2.0"})                    # a taken version: 409
        page.wait_for_selector("#release-register-error:not(:empty)")
        assert "2.0" in page.inner_text("#release-register-error")
        assert page.input_value("#reg-sha256") == typed["#reg-sha256"]   # nothing lost
        submit(**{"#reg-filename": "missing.raucb"})         # not in the folder: 422
        page.wait_for_selector("#release-register-error:has-text('missing.raucb')")
        assert page.input_value("#reg-notes") == "canary first"
        submit()
        page.wait_for_selector("#release-table tr[data-release='2.1']")
        assert page.input_value("#reg-version") == ""        # registered: the form is clear
        assert page.inner_text("#release-register-error") == ""

        page.select_option("#release-ward", "kita")
        set_canary(page, server)
        shots.take(page, "admin-kiosk-canary")

        # withdrawing a release a ward targets is refused, next to the list
        row = "#release-table tr[data-release='2.1']"
        page.click(f"{row} button.danger")
        page.wait_for_selector("#release-table-error:not(:empty)")
        assert page.inner_text(f"{row} .rel-state") == "公開中"
        page.select_option("#release-canary-version", "")   # no canary: 2.1 is free
        page.select_option("#release-canary", [])
        page.click("#release-set")
        page.wait_for_selector("#ward-release-table tr[data-ward='kita'] "
                               ".rel-version:text-is('2.0')")
        page.click(f"{row} button.danger")
        page.wait_for_selector(f"{row} .rel-state:text-is('取り下げ')")
        assert "2.1" not in page.eval_on_selector_all("#release-canary-version option",
                                                      "os => os.map(o => o.value)")
        page.click(f"{row} button:text('版の公開')")
        page.wait_for_selector(f"{row} .rel-state:text-is('公開中')")
        page.wait_for_selector("#audit-table td:has-text('版の取り下げ')")
        assert all("409" in e or "422" in e for e in errors), errors


def test_a_city_admin_registers_a_bundle_by_name_and_deletes_releases(
        backoffice_factory: Any, browser: Any, tmp_path: Any, shots: Shots) -> None:
    """The page offers the bundle folder's unregistered files; a file named only (no
    sha256, no size) is registered with what the server computed, its signature shown as
    unchecked (no keyring); deleting asks twice (the release, then its file), is refused
    for a release a ward targets and removes the file when asked."""
    import hashlib

    bundles = tmp_path / "bundles"
    with fleet_admin(backoffice_factory, browser, tmp_path, target=True) as (server, page,
                                                                            data, errors):
        answers: list[bool] = []          # the confirm dialogs' answers, in order
        page.on("dialog", lambda d: d.accept() if answers.pop(0) else d.dismiss())
        page.wait_for_selector("#reg-files-note:has-text('kiosk-2.1.raucb')")
        assert page.eval_on_selector_all("#reg-files option", "os => os.map(o => o.value)") \
            == ["kiosk-2.1.raucb"]
        page.fill("#reg-version", "2.1")
        page.fill("#reg-filename", "kiosk-2.1.raucb")
        page.click("#release-register")
        row = "#release-table tr[data-release='2.1']"
        page.wait_for_selector(f"{row} .rel-signature:text-is('未確認')")
        page.wait_for_selector("#reg-files-note:has-text('未登録のファイルはありません')")
        got = requests.get(server.api("/device/release"), timeout=10, headers={
            "Authorization": f"Bearer {server.kiosk_token}"}).json()
        assert got["version"] == "2.0"
        listed = server.session("admin").get(server.api("/admin/releases"), timeout=10).json()
        assert {r["version"]: r["sha256"] for r in listed["releases"]}["2.1"] == \
            hashlib.sha256(data).hexdigest()
        shots.take(page, "admin-kiosk-release-delete")

        answers[:] = [True, False]                          # delete 2.0, keep its file
        page.click("#release-table tr[data-release='2.0'] button.rel-delete")
        page.wait_for_selector("#release-table-error:has-text('kita')")   # kita targets it
        answers[:] = [False]                                # asked, then not deleted
        page.click(f"{row} button.rel-delete")
        answers[:] = [True, True]                           # delete 2.1 and its file
        page.click(f"{row} button.rel-delete")
        page.wait_for_selector(row, state="detached")
        assert not (bundles / "kiosk-2.1.raucb").exists()
        assert (bundles / "kiosk-2.0.raucb").exists()
        page.wait_for_selector("#audit-table td:has-text('版の削除')")
        assert answers == [] and all("409" in e for e in errors), errors


def test_a_ward_admin_sees_no_register_form_and_is_refused_a_withdrawal(
        backoffice_factory: Any, browser: Any, tmp_path: Any) -> None:
    from tests.support.fleet import fleet_config, register

    server = backoffice_factory.start(config=fleet_config(tmp_path / "bundles"))
    register(server, tmp_path / "bundles", "2.0")
    server.passwords["admin-kita"] = create_account(server, "admin-kita", "admin", "kita")
    context = browser.new_context(locale="ja-JP")
    try:
        page = context.new_page()
        open_admin(page, server, "admin-kita")
        assert not page.is_visible("#release-register-form")
        assert page.query_selector("#release-table tr[data-release='2.0'] button") is None
        status = page.evaluate("""() => fetch('/api/v1/admin/releases/2.0', {method: 'PATCH',
            headers: {'Content-Type': 'application/json'},
            body: JSON.stringify({published: false})}).then(r => r.status)""")
        assert status == 403
    finally:
        context.close()
