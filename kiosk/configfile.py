"""Reading the TOML files in config/. Validation itself lives with each section's owner.

`CONFIG_DIR` is the repository's config/ folder; a deployed kiosk or back-office points
`KIOSK_CONFIG_DIR` (or an explicit path) elsewhere.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from kiosk.domain.catalog import Catalog
from kiosk.domain.errors import ConfigError
from kiosk.domain.life_events import LifeEventCatalog
from kiosk.domain.section import Section
from kiosk.domain.streets import Street, streets_from_mapping

REPO_ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = Path(os.environ.get("KIOSK_CONFIG_DIR", REPO_ROOT / "config"))
ASSETS_DIR = REPO_ROOT / "assets"


def read_toml(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Parse a TOML file; a syntax error or a missing file becomes a ConfigError."""
    p = Path(path)
    try:
        with p.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(str(p), "(file)", "does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(p), "(syntax)", str(exc)) from None


def load_catalog(path: str | os.PathLike[str] | None = None) -> Catalog:
    p = Path(path) if path is not None else CONFIG_DIR / "catalog.toml"
    return Catalog.from_mapping(read_toml(p), file=str(p))


def read_kiosk_config(path: str | os.PathLike[str] | None = None) -> Section:
    """config/kiosk.toml (or `path`), read once: the root every part of the kiosk takes its
    own section from (its owner validates it). The one place that reads the kiosk's file."""
    p = Path(path) if path is not None else CONFIG_DIR / "kiosk.toml"
    return Section(read_toml(p), str(p))


def load_life_events(path: str | os.PathLike[str] | None = None,
                     catalog: Catalog | None = None) -> LifeEventCatalog:
    """config/life_events.toml, checked against the procedure catalog it names."""
    p = Path(path) if path is not None else CONFIG_DIR / "life_events.toml"
    return LifeEventCatalog.from_dict(read_toml(p), catalog or load_catalog(), file=str(p))


def load_streets(ward: str, path: str | os.PathLike[str] | None = None) -> tuple[Street, ...]:
    """config/streets.toml: the ward's street list for address entry (none: no file)."""
    p = Path(path) if path is not None else CONFIG_DIR / "streets.toml"
    if path is None and not p.exists():
        return ()
    return streets_from_mapping(read_toml(p), ward, str(p))
