"""Browser fixtures for the web pages: one headless Debian Chromium for the whole session
(pages and contexts are cheap, the browser is not), screenshots kept as test artefacts."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync",
                 # a lobby screen runs in kiosk mode where sound may start by itself
                 "--autoplay-policy=no-user-gesture-required"]
REPO = Path(__file__).resolve().parents[2]
DOCS_SCREENS = REPO / "docs" / "screens"


# Package scope, not session: a live sync Playwright holds an asyncio loop in the main
# thread, and with the suite spread over workers (scripts/test: xdist) a worker may go on
# to files outside tests/web that call asyncio.run() or start their own Playwright.
@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


class Shots:
    """Screenshots go to a temp dir (artefacts); WEB_UPDATE_SCREENS=1 also refreshes the
    few committed under docs/screens/ (palette-reduced so each stays small)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.update_docs = os.environ.get("WEB_UPDATE_SCREENS") == "1"

    def take(self, page: Any, name: str, *, docs: bool = False) -> Path:
        path = self.folder / f"{name}.png"
        page.screenshot(path=str(path))
        if docs and self.update_docs:
            from PIL import Image

            DOCS_SCREENS.mkdir(parents=True, exist_ok=True)
            with Image.open(path) as im:
                small = im.convert("RGB").quantize(colors=64)
                small.save(DOCS_SCREENS / f"web-{name}.png", optimize=True)
        return path


@pytest.fixture(scope="session")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Shots:
    folder = Path(os.environ.get("WEB_SCREENSHOTS_DIR") or tmp_path_factory.mktemp("web-screens"))
    folder.mkdir(parents=True, exist_ok=True)
    return Shots(folder)


def issue(server: Any, service: str = "certificates", *, procedure: str | None = None,
          application: dict[str, Any] | None = None, language: str = "ja") -> dict[str, Any]:
    """Issue a ticket as the ward's kiosk would, through the real API."""
    body: dict[str, Any] = {"service": service, "language": language}
    if procedure:
        body["procedure"] = procedure
    if application:
        body["application"] = application
    resp = server.session("kiosk").post(f"{server.url}/api/v1/tickets", json=body,
                                        headers={"Idempotency-Key": uuid.uuid4().hex})
    assert resp.status_code == 201, resp.text
    return dict(resp.json())
