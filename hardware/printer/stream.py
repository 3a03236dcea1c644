"""The stand-in printer's ESC/POS interpreter: bytes in, paper (and status replies) out.

It understands what a receipt printer in a ward office gets sent: initialise, print
modes, alignment, character size, kanji mode (FS & / FS .) with Shift_JIS, raster bit
images (GS v 0), QR codes (GS ( k), feeds, the cut, and the status commands — DLE EOT n
answered at once (real-time), GS r n answered in order (after what came before it has
printed). Everything printed lands on `Job.paper`, a list of 1-bit strips that
`Job.png()` stacks into what the roll would show.

Unknown commands are recorded in `Job.unknown` rather than guessed at.

Over 400 lines on purpose: an ESC/POS interpreter is one command table and the job
state it drives.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path

import qrcode
from PIL import Image, ImageDraw, ImageFont

FONT = Path(__file__).resolve().parents[2] / "assets" / "fonts" / "BIZUDGothic-Regular.ttf"
ESC, GS, FS, DLE, EOT = 0x1B, 0x1D, 0x1C, 0x10, 0x04
_INVERT = bytes(255 - b for b in range(256))
CLEAR_BUFFERS = b"\x10\x14\x08\x01\x03\x14\x01\x06\x02\x08"   # DLE DC4 8: clear buffers

# ESC x: number of argument bytes (commands with variable length are handled apart).
_ESC_ARGS = {b"@": 0, b"!": 1, b"a": 1, b"E": 1, b"-": 1, b"M": 1, b"t": 1, b"R": 1,
             b"2": 0, b"3": 1, b"d": 1, b"J": 1, b"G": 1, b"V": 1, b"{": 1, b" ": 1,
             b"=": 1, b"p": 3, b"c": 2, b"i": 0, b"m": 0, b"$": 2, b"\\": 2, b"%": 1,
             b"r": 1, b"U": 1, b"e": 1}
_GS_ARGS = {b"!": 1, b"r": 1, b"B": 1, b"L": 2, b"W": 2, b"h": 1, b"w": 1, b"H": 1,
            b"f": 1, b"a": 1, b"I": 1, b"P": 2, b"b": 1, b"T": 1}
_FS_ARGS = {b"&": 0, b".": 0, b"C": 1, b"!": 1, b"W": 1, b"-": 1, b"S": 2}


class PaperState(StrEnum):
    OK = "ok"
    NEAR_END = "near_end"
    OUT = "out"


@dataclass
class Job:
    """One print job: everything received from the first printed byte up to the cut."""

    number: int
    started: datetime = field(default_factory=datetime.now)
    raw: bytearray = field(default_factory=bytearray)
    paper: list[Image.Image] = field(default_factory=list)
    text: list[str] = field(default_factory=list)
    qr_codes: list[str] = field(default_factory=list)
    images: int = 0
    cut: bool = False
    kanji_mode: bool = False          # FS & was used
    stray_high_bytes: bool = False    # bytes ≥ 0x80 outside kanji mode (e.g. GB18030)
    interrupted: str | None = None    # paper_out, cover_open, connection_dropped, …
    resumed: bool = False             # printed from the buffer after paper/cover recovery
    unknown: list[str] = field(default_factory=list)
    finished: datetime | None = None
    png_path: Path | None = None

    @property
    def complete(self) -> bool:
        return self.cut and self.interrupted is None

    def png(self, width: int = 576) -> Image.Image:
        """The printed paper, top to bottom (mode "1": black = 0)."""
        height = sum(p.height for p in self.paper) or 1
        page = Image.new("1", (width, height), 1)
        y = 0
        for strip in self.paper:
            page.paste(strip, (0, y))
            y += strip.height
        return page

    def summary(self) -> dict[str, object]:
        return {"number": self.number, "complete": self.complete, "cut": self.cut,
                "interrupted": self.interrupted, "bytes": len(self.raw),
                "text": self.text, "qr_codes": self.qr_codes, "images": self.images,
                "kanji_mode": self.kanji_mode, "resumed": self.resumed,
                "stray_high_bytes": self.stray_high_bytes,
                "unknown_commands": self.unknown, "started": self.started.isoformat(),
                "finished": self.finished.isoformat() if self.finished else None}

    def save(self, directory: Path, width: int) -> None:
        stem = directory / f"job-{self.number:04d}"
        stem.with_suffix(".bin").write_bytes(bytes(self.raw))
        self.png_path = stem.with_suffix(".png")
        self.png(width).save(self.png_path)
        stem.with_suffix(".json").write_text(
            json.dumps(self.summary(), ensure_ascii=False, indent=2), encoding="utf-8")


class NeedMore(Exception):
    """The buffer ends inside a command: wait for more bytes."""


class Interpreter:
    """Feeds on the byte stream of one connection; keeps the printer's modes and paper."""

    def __init__(self, mechanism: Mechanism, width: int = 576) -> None:
        self.mech = mechanism
        self.width = width
        self.buffer = bytearray()
        self.job: Job | None = None
        self.cut_job: Job | None = None   # cut: finish it once its last bytes are recorded
        self.prefix = bytearray()
        self.reset_modes()
        self.qr_data = b""
        self.qr_size = 3

    def reset_modes(self) -> None:
        self.align = 0
        self.mult_w = self.mult_h = 1
        self.kanji = False
        self.line = bytearray()

    # -------------------------------------------------------------- input
    def feed(self, data: bytes) -> bytes:
        """Consume bytes; returns what the printer answers (status bytes)."""
        if not self.mech.printing_possible():
            # Offline: only real-time status queries are answered; the rest is held.
            return self._realtime_only(data)
        replies = bytearray()
        self.buffer += data
        while self.buffer:
            if not self.mech.printing_possible():
                self._hold(bytes(self.buffer))
                self.buffer.clear()
                break
            job = self.job
            try:
                used, reply = self._command(self.buffer)
            except NeedMore:
                break
            chunk = bytes(self.buffer[:used])
            del self.buffer[:used]
            target = job or self.job
            if target is not None:
                target.raw += chunk
            elif not _is_query(chunk):
                self.prefix += chunk
            if self.cut_job is not None:
                self.mech.finish(self.cut_job)
                self.cut_job = None
            replies += reply
        return bytes(replies)

    def _realtime_only(self, data: bytes) -> bytes:
        """Offline: answer real-time commands at the start of a chunk, hold the rest.

        Only a chunk that starts with one is scanned (a host sends them on their own
        after a silence): raster data may contain the same bytes by chance."""
        out = bytearray()
        i = 0
        while data[i:i + 2] in (b"\x10\x04", CLEAR_BUFFERS[:2]):
            if data[i + 1] == EOT and i + 2 < len(data):
                out += self.mech.realtime_status(data[i + 2])
                i += 3
            elif data[i:i + len(CLEAR_BUFFERS)] == CLEAR_BUFFERS:
                self.mech.clear_buffer()
                i += len(CLEAR_BUFFERS)
            else:
                break
        if i < len(data):
            self._hold(data[i:])
        return bytes(out)

    def _hold(self, data: bytes) -> None:
        """Received while the printer cannot print: kept to print once it can."""
        self._job().raw += data
        self.mech.hold(data)

    def _job(self) -> Job:
        if self.job is None:
            self.job = self.mech.new_job()
            self.job.raw += self.prefix     # ESC @ and modes sent before the first dot
            self.prefix.clear()
        return self.job

    def end(self, reason: str | None) -> None:
        """The connection ended: a job that was not cut is recorded as interrupted."""
        if self.line:
            self._flush_line()
        if self.job is None and (self.buffer or self.prefix):
            self._job()                     # received but not (yet) printable: still a job
        if self.job is not None:
            self.job.raw += self.buffer
            self.buffer.clear()
            if not self.job.cut and self.job.interrupted is None:
                self.job.interrupted = reason or "no_cut"
            self.mech.finish(self.job)
            self.job = None

    # -------------------------------------------------------------- commands
    def _command(self, b: bytearray) -> tuple[int, bytes]:
        c = b[0]
        if c == DLE:
            need(b, 3)
            if b[1] == EOT:
                return 3, self.mech.realtime_status(b[2])
            if b[1] == 0x14:                    # DLE DC4 fn …: fn 8 clears the buffers
                n = len(CLEAR_BUFFERS) if b[2] == 8 else 5
                need(b, n)
                if bytes(b[:n]) == CLEAR_BUFFERS:
                    self.mech.clear_buffer()
                return n, b""
            return 3, b""                       # DLE ENQ n
        if c == ESC:
            return self._esc(b)
        if c == GS:
            return self._gs(b)
        if c == FS:
            return self._fs(b)
        if c == 0x0A:
            self._flush_line()
            return 1, b""
        if c == 0x0D:
            return 1, b""
        if c >= 0x20 or c == 0x09:
            if c >= 0x80 and not self.kanji and not (0xA1 <= c <= 0xDF):
                self._job().stray_high_bytes = True
            self._job()
            self.line.append(c)
            return 1, b""
        return 1, b""                           # other control bytes: ignored

    def _known(self, b: bytearray, table: dict[bytes, int], prefix: str,
               ) -> tuple[bytes, int] | None:
        """The command byte and its argument count; None (recorded) when unknown."""
        cmd = bytes(b[1:2])
        n = table.get(cmd)
        if n is None:
            self._job().unknown.append(f"{prefix} {cmd!r}")
            return None
        need(b, 2 + n)
        return cmd, n

    def _esc(self, b: bytearray) -> tuple[int, bytes]:
        need(b, 2)
        known = self._known(b, _ESC_ARGS, "ESC")
        if known is None:
            return 2, b""
        cmd, n = known
        arg = b[2] if n else 0
        if cmd == b"@":
            self.reset_modes()
        elif cmd == b"a":
            self.align = arg % 48 if arg >= 48 else arg
        elif cmd == b"!":
            self.mult_h = 2 if arg & 0x10 else 1
            self.mult_w = 2 if arg & 0x20 else 1
        elif cmd == b"d":
            if self.line:
                self._flush_line()
            self._feed(arg * 30)
        elif cmd == b"J":
            self._feed(arg)
        elif cmd in (b"i", b"m"):
            self._cut()
        return 2 + n, b""

    def _gs(self, b: bytearray) -> tuple[int, bytes]:
        need(b, 2)
        cmd = bytes(b[1:2])
        if cmd == b"v":                         # GS v 0 m xL xH yL yH d1…dk
            need(b, 8)
            wb, rows = b[4] | b[5] << 8, b[6] | b[7] << 8
            need(b, 8 + wb * rows)
            self._raster(bytes(b[8:8 + wb * rows]), wb, rows)
            return 8 + wb * rows, b""
        if cmd == b"(":                         # GS ( x pL pH …
            need(b, 5)
            size = b[3] | b[4] << 8
            need(b, 5 + size)
            if b[2:3] == b"k":
                self._qr(bytes(b[5:5 + size]))
            return 5 + size, b""
        if cmd == b"V":
            need(b, 3)
            n = 4 if b[2] in (65, 66, 97, 98, 103, 104) else 3
            need(b, n)
            if self.line:
                self._flush_line()
            self._cut()
            return n, b""
        if cmd == b"k":                         # barcode: not used by the kiosk; skip it
            need(b, 3)
            if b[2] <= 6:
                end = b.find(b"\x00", 3)
                if end < 0:
                    raise NeedMore
                return end + 1, b""
            need(b, 4)
            return 4 + b[3], b""
        known = self._known(b, _GS_ARGS, "GS")
        if known is None:
            return 2, b""
        args = known[1]
        if cmd == b"!":
            self.mult_w, self.mult_h = (b[2] >> 4) + 1, (b[2] & 0x0F) + 1
        elif cmd == b"r":
            return 3, self.mech.transmit_status(b[2])
        return 2 + args, b""

    def _fs(self, b: bytearray) -> tuple[int, bytes]:
        need(b, 2)
        known = self._known(b, _FS_ARGS, "FS")
        if known is None:
            return 2, b""
        cmd, n = known
        if cmd == b"&":
            self.kanji = True
            self._job().kanji_mode = True
        elif cmd == b".":
            self.kanji = False
        elif cmd == b"C" and b[2] not in (1, 49):
            self._job().unknown.append("FS C: only Shift_JIS (1) is emulated")
        return 2 + n, b""

    # -------------------------------------------------------------- paper
    def _strip(self, img: Image.Image) -> None:
        """Print one strip; the paper may run out part-way down it."""
        rows = self.mech.consume_rows(img.height)
        if rows == 0:
            return
        strip = Image.new("1", (self.width, rows), 1)
        free = max(self.width - img.width, 0)
        x = {0: 0, 1: free // 2, 2: free}.get(self.align, 0)
        strip.paste(img.crop((0, 0, min(img.width, self.width), rows)), (x, 0))
        self._job().paper.append(strip)

    def _feed(self, dots: int) -> None:
        if dots:
            self._strip(Image.new("1", (self.width, dots), 1))

    def _flush_line(self) -> None:
        raw, self.line = bytes(self.line), bytearray()
        text = raw.decode("cp932", errors="replace")
        self._job().text.append(text)
        size = 24 * self.mult_h
        font = _font(size)
        glyphs = Image.new("1", (int(font.getlength(text)) + 1, size + 6), 1)
        ImageDraw.Draw(glyphs).text((0, 2), text, font=font, fill=0)
        if self.mult_w != self.mult_h:      # stretch: the font is drawn at height size
            glyphs = glyphs.resize((glyphs.width * self.mult_w // self.mult_h, glyphs.height))
        self._strip(glyphs)

    def _raster(self, data: bytes, width_bytes: int, rows: int) -> None:
        img = Image.frombytes("1", (width_bytes * 8, rows), data.translate(_INVERT))
        self._job().images += 1
        self._strip(img)

    def _qr(self, body: bytes) -> None:
        if len(body) < 2:
            return
        fn = body[1]
        if fn == 67 and len(body) > 2:          # module size
            self.qr_size = body[2]
        elif fn == 80:                          # store data (after m = '0')
            self.qr_data = body[3:]
        elif fn == 81:                          # print the stored symbol
            text = self.qr_data.decode("utf-8", errors="replace")
            code = qrcode.QRCode(border=1, box_size=max(self.qr_size, 1))
            code.add_data(text)
            code.make(fit=True)
            self._job().qr_codes.append(text)
            self._strip(code.make_image().get_image().convert("1"))

    def _cut(self) -> None:
        if self.mech.printing_possible():
            self._job().cut = True
            self.cut_job, self.job = self.job, None


def _is_query(chunk: bytes) -> bool:
    return len(chunk) == 3 and chunk[:2] in (b"\x10\x04", b"\x1dr")


def need(b: bytearray, n: int) -> None:
    if len(b) < n:
        raise NeedMore


_fonts: dict[int, ImageFont.FreeTypeFont] = {}


def _font(size: int) -> ImageFont.FreeTypeFont:
    if size not in _fonts:
        _fonts[size] = ImageFont.truetype(str(FONT), size,
                                          layout_engine=ImageFont.Layout.BASIC)
    return _fonts[size]


class Mechanism:
    """The physical side the interpreter asks: paper, cover, and where jobs go.

    Implemented by the stand-in printer (`hardware.printer.server.StandInPrinter`).
    """

    def printing_possible(self) -> bool:
        raise NotImplementedError

    def consume_rows(self, rows: int) -> int:
        """How many of `rows` dot rows print before the paper runs out."""
        raise NotImplementedError

    def realtime_status(self, n: int) -> bytes:
        raise NotImplementedError

    def transmit_status(self, n: int) -> bytes:
        raise NotImplementedError

    def new_job(self) -> Job:
        raise NotImplementedError

    def hold(self, data: bytes) -> None:
        """Keep data received while offline; printed when the printer recovers."""
        raise NotImplementedError

    def clear_buffer(self) -> None:
        """DLE DC4 8: forget what was held, so it never prints."""
        raise NotImplementedError

    def finish(self, job: Job) -> None:
        raise NotImplementedError
