"""The shipped catalogs, read once per test module."""

from __future__ import annotations

import pytest

from kiosk.configfile import load_catalog, load_life_events
from kiosk.domain.catalog import Catalog
from kiosk.domain.life_events import LifeEventCatalog


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


@pytest.fixture(scope="module")
def events(catalog: Catalog) -> LifeEventCatalog:
    return load_life_events(catalog=catalog)
