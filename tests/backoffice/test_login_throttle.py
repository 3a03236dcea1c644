"""Sign-in throttling (issue 15, item 11): counted per (username, address) with a back-off
and per address, one conditional upsert per try, so parallel guesses and several server
processes cannot pass the limit, and guesses from one address never lock the right
password out from another."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.backoffice.accounts import login_from

ELSEWHERE = "127.0.0.2"


def test_guesses_from_one_address_do_not_lock_the_owner_out_elsewhere(backoffice):
    server = backoffice
    right = server.passwords["staff"]
    codes = [login_from(server, "staff", "wrong-guess-123").status for _ in range(6)]
    assert codes == [401] * 5 + [429]
    refused = login_from(server, "staff", right)
    assert refused.status == 429 and int(refused.headers["retry-after"]) > 0  # back-off here
    assert login_from(server, "staff", right, ELSEWHERE).status == 200
    assert login_from(server, "supervisor", server.passwords["supervisor"]).status == 200


def test_the_right_password_gives_the_tries_back(backoffice):
    server = backoffice
    for _ in range(2):
        for _ in range(4):
            assert login_from(server, "staff", "wrong-guess-123").status == 401
        assert login_from(server, "staff", server.passwords["staff"]).status == 200


@pytest.mark.parametrize("db, workers", [("sqlite", 1), ("postgres", 2)])
def test_parallel_guesses_cannot_pass_the_limit(backoffice_factory, db, workers):
    server = backoffice_factory.start(None if db == "sqlite" else "postgres", workers=workers)
    with ThreadPoolExecutor(30) as pool:
        codes = list(pool.map(lambda _: login_from(server, "admin", "wrong-guess-123").status,
                              range(30)))
    assert sorted(codes) == [401] * 5 + [429] * 25, codes


def test_back_off_doubles_and_the_address_has_its_own_limit(backoffice_factory):
    server = backoffice_factory.start(config={"security": {
        "login_max_failures": 2, "login_backoff_seconds": 1, "login_address_max_failures": 6}})
    wrong = lambda user="staff", at="127.0.0.1": login_from(server, user, "wrong-guess-1", at)  # noqa: E731
    assert [wrong().status for _ in range(3)] == [401, 401, 429]
    time.sleep(1.2)  # first lock-out: 1 s
    assert [wrong().status for _ in range(3)] == [401, 401, 429]
    time.sleep(1.2)  # second lock-out: 2 s
    assert wrong().status == 429
    time.sleep(1.0)
    assert wrong().status == 401
    # 6 tries per address, whatever the usernames: then every username from it waits ...
    at = "127.0.0.3"
    assert [wrong(f"user{i}", at).status for i in range(7)] == [401] * 6 + [429]
    # ... while the same usernames from another address still get their tries
    assert wrong("user0", "127.0.0.4").status == 401
