"""The running kiosk app takes a newer catalog its link pulled (issue #20): on the UI
thread, at once between visits (kiosk.ui.app.follow_catalog → Session.offer_catalog; the
mid-visit rule is tested in tests/domain/test_session.py)."""

from __future__ import annotations

import copy
from typing import Any

from kiosk.domain.catalog import Catalog
from kiosk.ui.app import follow_catalog


class PulledLink:
    """What follow_catalog uses of kiosk.sync.KioskLink: subscribe() and catalog()."""

    def __init__(self, catalog: Catalog) -> None:
        self.current = catalog
        self.subscribers: list[Any] = []

    def subscribe(self, callback: Any) -> None:
        self.subscribers.append(callback)

    def catalog(self) -> Catalog:
        return self.current


def test_the_app_takes_a_pulled_catalog_between_visits(kiosk: Any) -> None:
    session = kiosk.s
    before, life = session.catalog, session.life_events
    data = copy.deepcopy(dict(before.data))
    next(p for p in data["procedures"] if p["code"] == "juminhyo")["fee_yen"] = 999
    link = PulledLink(Catalog.from_mapping(data))
    follow_catalog(link, session)
    try:
        for callback in link.subscribers:
            callback("waits")          # not a catalog: nothing happens
            callback("catalog")        # from the link's thread in the real app
        kiosk.h.pump(3)
        assert session.catalog is link.current
        assert session.catalog.procedure("juminhyo").fee_yen == 999
    finally:
        session.offer_catalog(before, life)   # the app is shared by the UI tests
    assert session.catalog is before
