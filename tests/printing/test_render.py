"""ESC/POS bytes of a ticket: Japanese never as GB18030 or '?', QR or raster, cut."""

from __future__ import annotations

import re

import pytest
from escpos.printer import Dummy
from PIL import Image

from kiosk.printing import slip as slip_module
from kiosk.printing.render import MODELS, TextMode, raster, render_ticket, ticket_image
from kiosk.printing.slip import WAIT_UNKNOWN, Style, slip_lines
from tests.printing.conftest import STATUS_URL, make_slip

CUT = b"\x1dV\x00"
JAPANESE = ["北区役所", "住民票の写し", "受付番号", "お待ちの人数：3人", "待ち時間の目安：約12分"]


def test_python_escpos_text_really_sends_gb18030() -> None:
    # The pitfall the text modes exist for (DESIGN §6): keep it proven, so a library
    # upgrade that fixes it is noticed.
    p = Dummy()
    p.text("北区役所")
    assert "北区役所".encode("gb18030") in p.output
    assert "北区役所".encode("shift_jis") not in p.output


def test_raster_mode_sends_one_image_and_no_text(slip) -> None:
    job = render_ticket(slip, MODELS["generic-80mm"])
    assert job.startswith(b"\x1b@")
    header = b"\x1dv0\x00" + (576 // 8).to_bytes(2, "little")
    assert header in job                     # GS v 0, 72 bytes (576 dots) wide
    assert job.endswith(CUT)
    assert b"\x1c&" not in job               # no kanji mode: the text is in the image
    for text in JAPANESE:
        assert text.encode("gb18030") not in job
        assert text.encode("shift_jis") not in job


def test_raster_image_is_what_is_sent(slip) -> None:
    img = ticket_image(slip, 576)
    job = render_ticket(slip, MODELS["generic-80mm"])
    rows = img.height
    raster = bytes(255 - b for b in img.tobytes())   # ESC/POS: 1 = black; PIL "1": 1 = white
    if rows <= 960:
        assert raster in job


@pytest.mark.parametrize("model", ["epson-tm-t88-j", "generic-80mm-sjis"])
def test_sjis_mode_sends_shift_jis_in_kanji_mode(slip, model) -> None:
    job = render_ticket(slip, MODELS[model])
    assert MODELS[model].text_mode is TextMode.SJIS
    assert b"\x1cC\x01" in job               # FS C 1: Shift_JIS code system
    for text in JAPANESE:
        sjis = text.encode("shift_jis")
        assert b"\x1c&" + sjis + b"\x1c." in job, text
        assert text.encode("gb18030") not in job
    segments = [m.decode("shift_jis") for m in re.findall(rb"\x1c&(.*?)\x1c\.", job, re.S)]
    expected = [line.text for line in slip_lines(slip) if not line.text.isascii()]
    assert segments == expected              # every Japanese line, whole, no '?' for kana
    assert b"A-012" in job
    assert job.endswith(CUT)


def test_sjis_model_native_qr_carries_the_status_url(slip) -> None:
    job = render_ticket(slip, MODELS["epson-tm-t88-j"])
    url = STATUS_URL.encode()
    store = b"\x1d(k" + (len(url) + 3).to_bytes(2, "little") + b"1P0" + url
    assert store in job                      # GS ( k: store the QR data …
    assert b"\x1d(k\x03\x001Q0" in job       # … and print it


def test_sjis_model_without_native_qr_sends_qr_as_raster(slip) -> None:
    job = render_ticket(slip, MODELS["generic-80mm-sjis"])
    assert b"\x1dv0" in job
    assert b"\x1d(k" not in job


def test_number_is_printed_large_in_sjis_mode(slip) -> None:
    job = render_ticket(slip, MODELS["epson-tm-t88-j"])
    before = job[: job.index(b"A-012")]
    size = before[before.rindex(b"\x1d!") + 2]
    assert (size >> 4) + 1 >= 6 and (size & 0x0F) + 1 >= 6


def test_unknown_wait_is_said_honestly() -> None:
    lines = [line.text for line in slip_lines(make_slip(wait_minutes=None))]
    assert "待ち時間の目安：ただいま分かりません" in lines
    assert not any("約" in text for text in lines)
    job = render_ticket(make_slip(wait_minutes=None), MODELS["epson-tm-t88-j"])
    assert WAIT_UNKNOWN.encode("shift_jis") in job


def test_resident_language_then_japanese(monkeypatch) -> None:
    class Fake:
        def __init__(self, code: str) -> None:
            self.code = code

        def __call__(self, msgid: str, **values: object) -> str:
            text = msgid.format(**values)
            return text if self.code == "ja" else f"[{self.code}] {text}"

    monkeypatch.setattr(slip_module, "translator", lambda code, domain: Fake(code))
    lines = slip_lines(make_slip(language="pt"))
    texts = [line.text for line in lines]
    i = texts.index("[pt] 受付番号")
    assert texts[i + 1] == "受付番号" and lines[i + 1].style is Style.SMALL
    assert lines[0].text == "北区役所"
    # a line the printer cannot draw falls back to English, never to boxes or '?'
    lines = slip_lines(make_slip(language="ko"), printable=lambda t: not t.startswith("[ko]"))
    assert "[en] 受付番号" in [line.text for line in lines]


def test_line_outside_shift_jis_is_rasterised_not_question_marks(monkeypatch) -> None:
    monkeypatch.setattr(slip_module, "translator", lambda code, domain: (
        (lambda msgid, **v: msgid.format(**v)) if code == "ja"
        else (lambda msgid, **v: "Số thứ tự")))
    job = render_ticket(make_slip(language="vi"), MODELS["epson-tm-t88-j"])
    assert b"\x1dv0" in job                  # the Vietnamese line went as an image
    assert "受付番号".encode("shift_jis") in job


def test_58mm_model_fits_its_paper(slip) -> None:
    img = ticket_image(slip, MODELS["generic-58mm"].width_px)
    assert img.width == 384
    job = render_ticket(slip, MODELS["generic-58mm"])
    assert b"\x1dv0\x00" + (384 // 8).to_bytes(2, "little") in job


def test_raster_bytes_equal_python_escpos_image(slip) -> None:
    # Long enough to be split into bands, as python-escpos splits it.
    img = ticket_image(make_slip(language="ja"), 576)
    tall = Image.new("1", (576, img.height * 2), 1)
    tall.paste(img, (0, 0))
    tall.paste(img, (0, img.height))
    for picture in (img, tall):
        p = Dummy(profile="TM-T20II")
        p.image(picture)
        assert raster(picture) == p.output
