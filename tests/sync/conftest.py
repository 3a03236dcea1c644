"""Fixtures for the sync fault tests: kiosks linked to a real back-office process,
directly or through the TCP fault proxy."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from kiosk.sync import KioskLink
from tests.sync.faultproxy import FaultProxy, wait_until
from tests.sync.helpers import settings

SERVICES = ("certificates", "moving", "family")


class Kiosks:
    """Makes kiosks (and their proxies) and stops them all at teardown."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.links: list[KioskLink] = []
        self.proxies: list[FaultProxy] = []
        self.dbs: list[Path] = []

    def proxy(self, url: str) -> FaultProxy:
        host, port = url.rsplit("/", 1)[-1].rsplit(":", 1)
        p = FaultProxy(host, int(port))
        self.proxies.append(p)
        return p

    def make(self, url: str, token: str, *, name: str = "k1", start: bool = True,
             wait_blocks: int = 1, **kw: Any) -> KioskLink:
        folder = self.tmp / name
        folder.mkdir(exist_ok=True)
        clock: Callable[[], float] = kw.pop("clock", time.time)
        link = KioskLink(settings(folder, url, token=token, **kw), clock=clock)
        self.links.append(link)
        self.dbs.append(folder / "kiosk.db")
        if start:
            link.start()
            def ready() -> bool:
                left = link.status().offline_numbers_left
                return all(left.get(s, 0) >= wait_blocks for s in SERVICES)
            assert wait_until(ready, 20), "no offline number block reserved"
        return link

    def close(self) -> None:
        for link in self.links:
            link.stop()
        for p in self.proxies:
            p.close()


@pytest.fixture()
def kiosks(tmp_path: Path) -> Iterator[Kiosks]:
    k = Kiosks(tmp_path)
    yield k
    k.close()


def drained(link: KioskLink, timeout: float = 30.0) -> bool:
    return wait_until(lambda: link.status().pending == 0, timeout, 0.1)
