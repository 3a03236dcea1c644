"""The payment code as an image: payload → QR modules → PIL image / PNG / Kivy texture.

Error correction M: a kiosk screen is clean and a phone camera reads M fastest at this
size; the quiet zone of 4 modules is what scanners expect.
"""

from __future__ import annotations

import io
from typing import Any

import qrcode
from PIL import Image
from qrcode.constants import ERROR_CORRECT_M


def qr_matrix(payload: str) -> list[list[bool]]:
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=4, box_size=1)
    code.add_data(payload.encode("utf-8"))
    code.make(fit=True)
    return code.get_matrix()


def qr_image(payload: str, scale: int = 8) -> Image.Image:
    """A black-on-white greyscale image, `scale` pixels per module (no anti-aliasing)."""
    matrix = qr_matrix(payload)
    n = len(matrix)
    img = Image.frombytes("L", (n, n), bytes(0 if cell else 255 for row in matrix for cell in row))
    return img.resize((n * scale, n * scale), Image.Resampling.NEAREST)


def qr_png(payload: str, scale: int = 8) -> bytes:
    out = io.BytesIO()
    qr_image(payload, scale).save(out, format="PNG", optimize=False)
    return out.getvalue()


def qr_texture(payload: str, scale: int = 8) -> Any:
    """A Kivy texture of the code (imports Kivy: call only from the UI)."""
    from kivy.graphics.texture import Texture

    img = qr_image(payload, scale).convert("RGB").transpose(Image.Transpose.FLIP_TOP_BOTTOM)
    texture = Texture.create(size=img.size, colorfmt="rgb")
    texture.mag_filter = "nearest"
    texture.blit_buffer(img.tobytes(), colorfmt="rgb", bufferfmt="ubyte")
    return texture
