"""ESC/POS bytes for a ticket, per printer model.

python-escpos' `text()` would send kanji as GB18030 and kana as `?` (its code pages), so
Japanese text never goes through it. Two text modes, chosen per printer model:

- ``raster``: the whole slip is drawn with BIZ UD Gothic into a 1-bit image and sent as
  one raster bit image (GS v 0). Works on any ESC/POS printer, any language.
- ``sjis``: text is sent as Shift_JIS inside kanji mode (FS & … FS .), for Japanese-model
  printers with a kanji ROM (FS C 1 selects Shift_JIS). A line Shift_JIS cannot encode
  (Hangul, Vietnamese…) is sent as a small raster image instead of as `?`.

The bytes are composed through python-escpos' own `Dummy` printer (QR codes, cut) and
raster images are byte-identical to its `image()` (tested), so a job is exactly what its
real transports would send.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum

import qrcode
from escpos.printer import Dummy
from PIL import Image, ImageDraw

from kiosk.printing import fonts
from kiosk.printing.guide import GuideSlip, guide_lines
from kiosk.printing.slip import Line, Style, TicketSlip, slip_lines

Slip = TicketSlip | GuideSlip     # what a print job is: a ticket or a 手続き案内票

ESC, GS, FS = b"\x1b", b"\x1d", b"\x1c"
KANJI_ON, KANJI_OFF = FS + b"&", FS + b"."
SELECT_SJIS = FS + b"C\x01"       # kanji code system: Shift_JIS
KATAKANA_PAGE = ESC + b"t\x01"    # half-width katakana code page


class TextMode(StrEnum):
    RASTER = "raster"
    SJIS = "sjis"


@dataclass(frozen=True)
class PrinterModel:
    """What differs between printer models: paper width, how text and QR codes are sent."""

    name: str
    width_px: int = 576              # printable dots: 576 on 80 mm paper, 384 on 58 mm
    text_mode: TextMode = TextMode.RASTER
    native_qr: bool = False          # GS ( k QR on the printer; else a raster image
    profile: str = "TM-T20II"        # python-escpos capability profile
    clear_buffer: bool = True        # supports DLE DC4 8 (clear buffers) after a failure


MODELS: dict[str, PrinterModel] = {
    m.name: m for m in (
        PrinterModel("generic-80mm"),
        PrinterModel("generic-58mm", width_px=384),
        # Japanese-market models with a kanji ROM (e.g. Epson TM-T88 "J" models).
        PrinterModel("epson-tm-t88-j", width_px=512, text_mode=TextMode.SJIS,
                     native_qr=True, profile="TM-T88V"),
        PrinterModel("generic-80mm-sjis", text_mode=TextMode.SJIS),
    )
}

MARGIN = 12
BAND = 960                       # rows per GS v 0 command, as python-escpos sends images
_INVERT = bytes(255 - b for b in range(256))
_SIZES = {Style.TITLE: (32, True), Style.HEADING: (30, True), Style.LABEL: (24, False),
          Style.NUMBER: (150, True), Style.BODY: (24, False), Style.SMALL: (20, False)}


def printable(text: str) -> bool:
    return fonts.face_for(text) is not None


# ---------------------------------------------------------------- raster rendering
def _wrap(text: str, fits: Callable[[str], bool]) -> Iterator[str]:
    """Greedy wrap: break at spaces for Latin text, anywhere between CJK characters."""
    if fits(text):
        yield text
        return
    line = ""
    for word in _tokens(text):
        candidate = line + word
        if line and not fits(candidate.rstrip()):
            yield line.rstrip()
            line = word.lstrip()
        else:
            line = candidate
    if line.strip():
        yield line.rstrip()


def _tokens(text: str) -> Iterator[str]:
    word = ""
    for ch in text:
        if ord(ch) >= 0x2E80:          # CJK: each character is its own break point
            if word:
                yield word
                word = ""
            yield ch
        elif ch == " ":
            yield word + ch
            word = ""
        else:
            word += ch
    if word:
        yield word


def _qr_image(url: str, width: int) -> Image.Image:
    # A fixed mask skips qrcode's 8-way mask search (~10 ms): every mask is a valid
    # symbol (the tests scan the printed code). The 4-module quiet zone is the standard's.
    # The modules are scaled up here instead of drawn box by box.
    code = qrcode.QRCode(border=4, error_correction=qrcode.constants.ERROR_CORRECT_M,
                         mask_pattern=0)
    code.add_data(url)
    code.make(fit=True)
    matrix = code.get_matrix()
    n = len(matrix)
    box = max(2, min(8, (width // 2) // n))
    modules = Image.frombytes("L", (n, n), bytes(0 if dark else 255
                                                   for row in matrix for dark in row))
    return modules.resize((n * box, n * box), Image.Resampling.NEAREST).convert("1")


@functools.lru_cache(maxsize=512)
def line_image(line: Line, width: int) -> Image.Image:
    """One styled line (wrapped as needed) as a 1-bit image `width` dots wide.

    Cached: most lines (ward, procedure, guidance) repeat on every ticket. Callers only
    paste the result, never draw on it."""
    scale = width / 576
    if line.style is Style.RULE:
        img = Image.new("1", (width, 16), 1)
        ImageDraw.Draw(img).rectangle((MARGIN, 7, width - MARGIN, 8), fill=0)
        return img
    if line.style is Style.QR:
        qr = _qr_image(line.text, width)
        img = Image.new("1", (width, qr.height), 1)
        img.paste(qr, ((width - qr.width) // 2, 0))
        return img
    size, bold = _SIZES[line.style]
    size = max(12, round(size * scale))
    face = fonts.face_for(line.text) or fonts.REGULAR
    font = fonts.font(size, bold) if face == fonts.REGULAR else fonts.font(size, path=face)
    room = width - 2 * MARGIN
    if line.style is Style.NUMBER:    # as large as fits on one line
        while size > 24 and font.getlength(line.text) > room:
            size = int(size * 0.9)
            font = fonts.font(size, bold)
    rows = list(_wrap(line.text, lambda t: font.getlength(t) <= room)) or [""]
    step = round(size * (1.1 if line.style is Style.NUMBER else 1.3))
    img = Image.new("1", (width, step * len(rows) + 4), 1)
    draw = ImageDraw.Draw(img)
    for i, row in enumerate(rows):
        x = (width - font.getlength(row)) / 2
        draw.text((x, 2 + i * step), row, font=font, fill=0)
    return img


def lines_of(slip: Slip, can_print: Callable[[str], bool] = printable) -> list[Line]:
    if isinstance(slip, GuideSlip):
        return guide_lines(slip, can_print)
    return slip_lines(slip, can_print)


def ticket_image(slip: Slip, width: int = 576) -> Image.Image:
    """The whole slip as a 1-bit image (black = 0): what the raster mode prints."""
    parts = [line_image(line, width) for line in lines_of(slip)]
    img = Image.new("1", (width, sum(p.height for p in parts) + 8), 1)
    y = 4
    for part in parts:
        img.paste(part, (0, y))
        y += part.height
    return img


def raster(img: Image.Image) -> bytes:
    """GS v 0 commands for a 1-bit image: byte for byte what python-escpos' `image()`
    sends, without its RGBA → grey → dither pass (~10 ms) that a 1-bit image needs not."""
    width_bytes = (img.width + 7) // 8
    out = bytearray()
    for top in range(0, img.height, BAND):
        band = img.crop((0, top, img.width, min(top + BAND, img.height)))
        out += GS + b"v0\x00" + width_bytes.to_bytes(2, "little")
        out += band.height.to_bytes(2, "little") + band.tobytes().translate(_INVERT)
    return bytes(out)


# ---------------------------------------------------------------- Shift_JIS text
def _dots(text: str, mult: int) -> int:
    """Width in dots with font A: 12 for ASCII and half-width kana, 24 for kanji."""
    return sum(12 if ord(c) < 0x80 or 0xFF61 <= ord(c) <= 0xFF9F else 24
               for c in text) * mult


def _sjis(text: str) -> bytes | None:
    try:
        return text.encode("shift_jis")
    except UnicodeEncodeError:
        try:
            return text.encode("cp932")   # Microsoft extensions (①, ㈱, 髙…) most ROMs have
        except UnicodeEncodeError:
            return None


def _size(mult: int) -> bytes:
    return GS + b"!" + bytes([((mult - 1) << 4) | (mult - 1)])


def _sjis_line(p: Dummy, line: Line, width: int) -> None:
    if line.style is Style.RULE:
        p._raw(_size(1) + b"-" * (width // 12) + b"\n")
        return
    if line.style is Style.NUMBER:
        mult = max(1, min(8, width // _dots(line.text, 1)))
    else:
        mult = 2 if line.style in (Style.TITLE, Style.HEADING) else 1
    if line.style in (Style.TITLE, Style.HEADING, Style.NUMBER):
        p._raw(ESC + b"E\x01")
    for row in _wrap(line.text, lambda t: _dots(t, mult) <= width):
        encoded = _sjis(row)
        if encoded is None:           # not in Shift_JIS: print it as an image, never as '?'
            p._raw(raster(line_image(Line(row, line.style), width)))
            continue
        if encoded.isascii():
            p._raw(_size(mult) + encoded + b"\n")
        else:
            p._raw(_size(mult) + KANJI_ON + encoded + KANJI_OFF + b"\n")
    p._raw(_size(1) + ESC + b"E\x00")


def render_ticket(slip: Slip, model: PrinterModel = MODELS["generic-80mm"]) -> bytes:
    """The complete print job for one slip (a ticket or a guide), ending with a cut."""
    p = Dummy(profile=model.profile)
    p._raw(ESC + b"@")                             # initialise: forget earlier modes
    if model.text_mode is TextMode.RASTER:
        p._raw(raster(ticket_image(slip, model.width_px)))
    else:
        p._raw(SELECT_SJIS + KATAKANA_PAGE + ESC + b"a\x01")   # Shift_JIS, centred
        for line in lines_of(slip):
            if line.style is Style.QR:
                if model.native_qr:
                    p.qr(line.text, size=6, native=True)
                else:
                    p._raw(raster(line_image(line, model.width_px)))
            else:
                _sjis_line(p, line, model.width_px)
        p._raw(ESC + b"a\x00")
    p.cut()
    return p.output
