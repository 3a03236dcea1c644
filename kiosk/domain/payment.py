"""Cashless payment: the JPQR payload, the payment state machine, webhook signatures,
and the daily reconciliation. Pure logic — no I/O — shared by the kiosk and the
back-office.

JPQR is the Japanese profile of the EMVCo merchant-presented QR (`build_payload`): a string of
``ID(2) + length(2) + value``; the length counts characters, not bytes (the JA template
holds kanji); tag 63 comes last and carries CRC-16/CCITT-FALSE over the UTF-8 bytes of
everything before it, including ``6304``.

Over 400 lines: the pure vocabulary of payment that the kiosk and the back-office share
(payload, states, webhook signature, reconciliation), each part short and used together.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

# --- CRC + TLV ----------------------------------------------------------------------------


def crc16_ccitt_false(data: bytes) -> int:
    """CRC-16/CCITT-FALSE: poly 0x1021, init 0xFFFF, no reflection, no final xor."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
            crc &= 0xFFFF
    return crc


class PayloadError(ValueError):
    """A QR payload is malformed, fails its CRC, or breaks the JPQR profile."""


def tlv(tag: str, value: str) -> str:
    if not re.fullmatch(r"\d\d", tag):
        raise PayloadError(f"tag must be two digits, got {tag!r}")
    if not 0 < len(value) <= 99:
        raise PayloadError(f"tag {tag}: value must be 1-99 characters, got {len(value)}")
    return f"{tag}{len(value):02d}{value}"


def parse_tlv(text: str) -> list[tuple[str, str]]:
    """Split a TLV string into (tag, value) pairs, in order."""
    out: list[tuple[str, str]] = []
    i = 0
    while i < len(text):
        head = text[i:i + 4]
        if len(head) < 4 or not head.isdigit() or not head.isascii():
            raise PayloadError(f"bad TLV header {head!r} at position {i}")
        length = int(head[2:])
        value = text[i + 4:i + 4 + length]
        if length == 0 or len(value) != length:
            raise PayloadError(f"tag {head[:2]} at position {i}: length {length} overruns")
        out.append((head[:2], value))
        i += 4 + length
    return out


def with_crc(body: str) -> str:
    """Append tag 63 to a payload body."""
    head = body + "6304"
    return head + f"{crc16_ccitt_false(head.encode('utf-8')):04X}"


def check_crc(payload: str) -> str:
    """Verify the trailing CRC; return the payload without it."""
    if len(payload) < 8 or payload[-8:-4] != "6304":
        raise PayloadError("payload must end with tag 63 (6304 + 4 hex digits)")
    expected = f"{crc16_ccitt_false(payload[:-4].encode('utf-8')):04X}"
    if payload[-4:].upper() != expected:
        raise PayloadError(f"CRC mismatch: payload says {payload[-4:]}, computed {expected}")
    return payload[:-8]


# --- The JPQR merchant-presented payload -----------------------------------------------------

JPQR_GUI = "jp.or.paymentsjapan"
MCC_GOVERNMENT = "9399"  # government services, not elsewhere classified
CURRENCY_JPY = "392"


@dataclass(frozen=True)
class MerchantQr:
    """What the kiosk encodes. `reference` ties the scan to our payment (tag 62-05)."""

    merchant_id: str            # issued by the payment network (JPQR 26-01)
    merchant_name: str          # Latin, ≤ 25 (tag 59)
    merchant_city: str          # Latin, ≤ 15 (tag 60)
    postcode: str               # JPQR requires tag 61
    amount_yen: int | None = None   # None = static code without amount
    reference: str = ""         # our payment reference (tag 62, sub 05)
    name_ja: str = ""           # tag 64 (language JA) name
    city_ja: str = ""           # tag 64 city
    mcc: str = MCC_GOVERNMENT
    dynamic: bool = True
    extra_accounts: tuple[tuple[str, str], ...] = field(default=())  # other 26-51 templates

    def payload(self) -> str:
        return build_payload(self)


def build_payload(qr: MerchantQr) -> str:
    if not qr.merchant_id.isascii() or not qr.merchant_id:
        raise PayloadError("merchant_id must be non-empty ASCII")
    if len(qr.merchant_name) > 25 or not qr.merchant_name.isascii():
        raise PayloadError("merchant_name must be ASCII, at most 25 characters")
    if len(qr.merchant_city) > 15 or not qr.merchant_city.isascii():
        raise PayloadError("merchant_city must be ASCII, at most 15 characters")
    if not re.fullmatch(r"\d{7}", qr.postcode):
        raise PayloadError("postcode must be 7 digits (JPQR)")
    if qr.amount_yen is not None and not 0 < qr.amount_yen <= 9_999_999_999:
        raise PayloadError("amount must be a positive number of yen")
    if qr.dynamic and qr.amount_yen is None:
        raise PayloadError("a dynamic (one-payment) code carries its amount")
    parts = [tlv("00", "01"), tlv("01", "12" if qr.dynamic else "11")]
    parts.append(tlv("26", tlv("00", JPQR_GUI) + tlv("01", qr.merchant_id)))
    parts += [tlv(tag, value) for tag, value in qr.extra_accounts]
    parts += [tlv("52", qr.mcc), tlv("53", CURRENCY_JPY)]
    if qr.amount_yen is not None:
        parts.append(tlv("54", str(qr.amount_yen)))  # yen has no minor unit
    parts += [tlv("58", "JP"), tlv("59", qr.merchant_name), tlv("60", qr.merchant_city),
              tlv("61", qr.postcode)]
    if qr.reference:
        parts.append(tlv("62", tlv("05", qr.reference)))
    if qr.name_ja:
        local = tlv("00", "JA") + tlv("01", qr.name_ja)
        if qr.city_ja:
            local += tlv("02", qr.city_ja)
        parts.append(tlv("64", local))
    return with_crc("".join(parts))


_TEMPLATES = {"62", "64"} | {str(n) for n in range(26, 52)}


@dataclass(frozen=True)
class ParsedPayload:
    """A decoded merchant-presented payload: top-level tags and sub-tags of templates."""

    fields: Mapping[str, str]
    templates: Mapping[str, Mapping[str, str]]

    def get(self, tag: str, default: str = "") -> str:
        return self.fields.get(tag, default)

    @property
    def amount_yen(self) -> int | None:
        raw = self.fields.get("54")
        if raw is None:
            return None
        if not re.fullmatch(r"\d+(\.0+)?", raw):
            raise PayloadError(f"amount {raw!r} is not whole yen")
        return int(raw.split(".")[0])

    @property
    def reference(self) -> str:
        return self.templates.get("62", {}).get("05", "")


def parse_payload(payload: str) -> ParsedPayload:
    """Decode any EMVCo merchant-presented payload, checking its CRC and tag rules."""
    pairs = parse_tlv(check_crc(payload))
    if not pairs or pairs[0] != ("00", "01"):
        raise PayloadError("tag 00 (payload format indicator) must come first and be 01")
    fields: dict[str, str] = {}
    templates: dict[str, dict[str, str]] = {}
    for tag, value in pairs:
        if tag in fields:
            raise PayloadError(f"tag {tag} appears twice")
        fields[tag] = value
        if tag in _TEMPLATES:
            try:
                templates[tag] = dict(parse_tlv(value))
            except PayloadError:
                if tag in ("62", "64"):
                    raise
                # Tags 26-51 may hold a network's private format; keep them opaque.
    fields["63"] = payload[-4:]
    return ParsedPayload(fields=fields, templates=templates)


def parse_jpqr(payload: str) -> ParsedPayload:
    """Decode and enforce the JPQR profile: JP, yen, postcode, a JPQR account template."""
    parsed = parse_payload(payload)
    for tag in ("01", "52", "53", "58", "59", "60", "61"):
        if tag not in parsed.fields:
            raise PayloadError(f"JPQR requires tag {tag}")
    if parsed.get("58") != "JP":
        raise PayloadError(f"country must be JP, got {parsed.get('58')!r}")
    if parsed.get("53") != CURRENCY_JPY:
        raise PayloadError(f"currency must be 392 (yen), got {parsed.get('53')!r}")
    if parsed.get("01") not in ("11", "12"):
        raise PayloadError("tag 01 must be 11 (static) or 12 (dynamic)")
    if not any(t.get("00") == JPQR_GUI for t in parsed.templates.values()):
        raise PayloadError(f"no merchant account template with {JPQR_GUI}")
    parsed.amount_yen  # noqa: B018 - validates the amount's form
    return parsed


# --- Payment states ---------------------------------------------------------------------------


class PaymentState(StrEnum):
    CREATED = "created"
    PENDING = "pending"
    PAID = "paid"
    FAILED = "failed"
    CANCELED = "canceled"
    EXPIRED = "expired"

    @property
    def final(self) -> bool:
        return self in FINAL_STATES


FINAL_STATES = frozenset({PaymentState.PAID, PaymentState.FAILED, PaymentState.CANCELED,
                          PaymentState.EXPIRED})

_ALLOWED: Mapping[PaymentState, frozenset[PaymentState]] = {
    PaymentState.CREATED: frozenset({PaymentState.PENDING, PaymentState.PAID,
                                     PaymentState.FAILED, PaymentState.CANCELED,
                                     PaymentState.EXPIRED}),
    PaymentState.PENDING: frozenset({PaymentState.PAID, PaymentState.FAILED,
                                     PaymentState.CANCELED, PaymentState.EXPIRED}),
}


class PaymentMethod(StrEnum):
    CODE = "code"          # dynamic JPQR code payment at the kiosk
    TERMINAL = "terminal"  # card / e-money terminal (nexo-style) at the kiosk or counter
    COUNTER = "counter"    # pay at the counter (staff take it through their terminal)


class TransitionError(ValueError):
    """A payment may not move from one state to another (e.g. paid → canceled)."""

    def __init__(self, current: PaymentState, target: PaymentState) -> None:
        self.current = current
        self.target = target
        super().__init__(f"payment is {current.value}; it cannot become {target.value}")


def transition(current: PaymentState, target: PaymentState) -> bool:
    """Check a state change. False when it is a repeat (idempotent no-op); raise when
    it contradicts a final state — a duplicate or late webhook must not undo a payment."""
    if current is target:
        return False
    if target not in _ALLOWED.get(current, frozenset()):
        raise TransitionError(current, target)
    return True


# --- Webhook signatures -----------------------------------------------------------------------

SIGNATURE_HEADER = "X-Payment-Signature"
TIMESTAMP_HEADER = "X-Payment-Timestamp"
NONCE_HEADER = "X-Payment-Nonce"


def sign_webhook(secret: bytes, timestamp: int, nonce: str, body: bytes) -> str:
    """HMAC-SHA256 over ``timestamp.nonce.body``: a replay cannot move any of the three."""
    message = f"{timestamp}.{nonce}.".encode() + body
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


class SignatureError(ValueError):
    """A webhook's signature, timestamp or nonce is wrong."""


def verify_webhook(secret: bytes, timestamp: str, nonce: str, body: bytes, signature: str,
                   now: float, tolerance_s: int) -> int:
    """Verify signature and freshness; return the timestamp. The nonce's uniqueness is the
    caller's (it needs storage)."""
    if not timestamp.isdigit():
        raise SignatureError("timestamp missing or not a number")
    if not re.fullmatch(r"[A-Za-z0-9_-]{8,64}", nonce):
        raise SignatureError("nonce missing or malformed")
    ts = int(timestamp)
    expected = sign_webhook(secret, ts, nonce, body)
    if not hmac.compare_digest(expected, signature.strip().lower()):
        raise SignatureError("signature does not match")
    if abs(now - ts) > tolerance_s:
        raise SignatureError(f"timestamp is {int(now - ts)} s away from now")
    return ts


# --- Terminal proofs --------------------------------------------------------------------------


@dataclass(frozen=True)
class TerminalReceipt:
    """What a payment terminal vouches for when it answers a payment: its own id (nexo
    POIID), the sale's reference (our ServiceID), the outcome and amount, and its
    transaction id and time. Signed with the terminal's key, which the back-office
    holds per terminal and the kiosk never sees."""

    terminal_id: str
    service_id: str
    result: str                 # nexo Result: Success | Failure
    amount_yen: int
    transaction_id: str
    timestamp: str

    def message(self) -> bytes:
        # A JSON array: no field can run into the next one, whatever it holds.
        return json.dumps(["nexo-payment-v1", self.terminal_id, self.service_id, self.result,
                           self.amount_yen, "JPY", self.transaction_id, self.timestamp],
                          ensure_ascii=True, separators=(",", ":")).encode()

    def sign(self, key: bytes) -> str:
        """HMAC-SHA256 of the receipt, lower-case hex."""
        return hmac.new(key, self.message(), hashlib.sha256).hexdigest()

    def verify(self, key: bytes, mac: str) -> bool:
        return bool(key) and hmac.compare_digest(self.sign(key), mac.strip().lower())


# --- Daily reconciliation ---------------------------------------------------------------------


@dataclass(frozen=True)
class LedgerEntry:
    """One payment as one side records it (our records, or the provider's)."""

    reference: str
    amount_yen: int
    state: PaymentState
    procedure: str = ""
    method: str = ""
    transaction_id: str = ""   # the terminal's POITransactionID, when one side knows it


@dataclass(frozen=True)
class ReportRow:
    procedure: str
    method: str
    count: int
    amount_yen: int


@dataclass(frozen=True)
class Mismatch:
    reference: str
    problem: str
    ours: LedgerEntry | None
    theirs: LedgerEntry | None


@dataclass(frozen=True)
class Reconciliation:
    rows: tuple[ReportRow, ...]
    mismatches: tuple[Mismatch, ...]
    total_yen: int

    @property
    def ok(self) -> bool:
        return not self.mismatches


def reconcile(ours: Iterable[LedgerEntry], theirs: Iterable[LedgerEntry] | None,
              external_methods: Sequence[str] = (PaymentMethod.CODE.value,),
              source: str = "provider") -> Reconciliation:
    """Totals of paid payments per procedure and method; every disagreement with the
    external record (for the methods it covers) is flagged, never silently fixed."""
    mine = {e.reference: e for e in ours}
    totals: dict[tuple[str, str], list[int]] = {}
    for e in mine.values():
        if e.state is PaymentState.PAID:
            row = totals.setdefault((e.procedure, e.method), [0, 0])
            row[0] += 1
            row[1] += e.amount_yen
    mismatches: list[Mismatch] = []
    if theirs is not None:
        other = {e.reference: e for e in theirs}
        for ref in sorted(set(mine) | set(other)):
            a, b = mine.get(ref), other.get(ref)
            if a is not None and a.method not in external_methods:
                continue
            paid_a = a is not None and a.state is PaymentState.PAID
            paid_b = b is not None and b.state is PaymentState.PAID
            if a is None and paid_b:
                mismatches.append(Mismatch(ref, f"paid at the {source}, unknown here", a, b))
            elif paid_a and b is None:
                mismatches.append(Mismatch(ref, f"paid here, unknown to the {source}", a, b))
            elif paid_a != paid_b and a is not None and b is not None:
                mismatches.append(Mismatch(
                    ref, f"state differs: here {a.state.value}, {source} {b.state.value}", a, b))
            elif paid_a and b is not None and a is not None and a.amount_yen != b.amount_yen:
                mismatches.append(Mismatch(
                    ref, f"amount differs: here {a.amount_yen}, {source} {b.amount_yen}", a, b))
            elif (paid_a and a is not None and b is not None and a.transaction_id
                  and b.transaction_id and a.transaction_id != b.transaction_id):
                mismatches.append(Mismatch(
                    ref, f"transaction id differs: here {a.transaction_id}, "
                    f"{source} {b.transaction_id}", a, b))
    rows = tuple(ReportRow(p, m, c, y) for (p, m), (c, y) in sorted(totals.items()))
    return Reconciliation(rows=rows, mismatches=tuple(mismatches),
                          total_yen=sum(r.amount_yen for r in rows))


class JournalError(ValueError):
    """A terminal journal cannot be read: the message names the entry and field."""


_JOURNAL_STATES = {"Success": PaymentState.PAID, "Failure": PaymentState.FAILED,
                   "InProgress": PaymentState.PENDING}


def terminal_journal(transactions: Sequence[Mapping[str, object]]) -> list[LedgerEntry]:
    """The terminal's own journal (nexo-shaped: ServiceID = our reference, status
    Success / Failure / InProgress, amount, POITransactionID) as ledger entries."""
    out: list[LedgerEntry] = []
    for i, tx in enumerate(transactions):
        ref, status, amount = tx.get("service_id"), tx.get("status"), tx.get("amount")
        if not isinstance(ref, str) or not ref:
            raise JournalError(f"entry {i}: service_id must be a non-empty string")
        if not isinstance(status, str) or status not in _JOURNAL_STATES:
            raise JournalError(f"entry {i} ({ref}): status must be one of "
                               f"{sorted(_JOURNAL_STATES)}")
        if not isinstance(amount, int) or isinstance(amount, bool) or amount < 0:
            raise JournalError(f"entry {i} ({ref}): amount must be whole yen")
        poi = tx.get("poi_transaction_id", "")
        out.append(LedgerEntry(ref, amount, _JOURNAL_STATES[status],
                               method=PaymentMethod.TERMINAL.value,
                               transaction_id=poi if isinstance(poi, str) else ""))
    return out
