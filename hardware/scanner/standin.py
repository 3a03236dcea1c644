"""The stand-in 2D scanner: a "window" folder (`[scanner] standin_dir`) where a test or a
developer presents a code as an image — a PNG of a QR code, e.g. the booking page's — and
the stand-in decodes it with ZBar (pyzbar), as a camera scanner would, then takes it
away. What the kiosk gets is exactly what a real scanner would send: the QR's text."""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

from PIL import Image
from pyzbar.pyzbar import decode

from kiosk.scanner import ScannerConfig

POLL_SECONDS = 0.05


class StandinScanner:
    def __init__(self, window: Path) -> None:
        self.window = window
        window.mkdir(parents=True, exist_ok=True)

    def present(self, image: Path) -> None:
        """Put an image in front of the scanner (written whole, then renamed into place)."""
        part = self.window / f".{image.name}.part"
        shutil.copyfile(image, part)
        part.rename(self.window / f"{time.monotonic_ns()}-{image.name}")

    def read(self, timeout: float) -> str | None:
        deadline = time.monotonic() + timeout
        while True:
            for path in sorted(self.window.glob("*.png")):
                try:
                    with Image.open(path) as im:
                        found = decode(im.convert("L"))
                finally:
                    path.unlink(missing_ok=True)
                if found:
                    return found[0].data.decode("utf-8", "replace")
            if time.monotonic() >= deadline:
                return None
            time.sleep(POLL_SECONDS)

    def close(self) -> None:
        pass


def open_standin_scanner(config: ScannerConfig) -> StandinScanner:
    window = config.standin_dir or Path(tempfile.gettempdir()) / "ward-scanner"
    return StandinScanner(window)
