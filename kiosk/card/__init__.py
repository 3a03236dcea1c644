"""Reading the My Number card's 券面事項入力補助AP: the basic four, optionally the number,
and an offline authenticity check. See docs/card.md for the API and the CLI."""

from kiosk.card.authenticity import AuthenticityResult, TrustedCa
from kiosk.card.config import CardConfig, open_reader
from kiosk.card.errors import (
    Cancelled,
    CardBusy,
    CardCommunicationError,
    CardDataError,
    CardError,
    CardRemoved,
    CodeBBlocked,
    CodeBTriesLow,
    InvalidCodeB,
    InvalidPin,
    LastPinTry,
    NoCard,
    NotMyNumberCard,
    NumberUnavailable,
    PinBlocked,
    PinRequired,
    ReaderUnavailable,
    ServiceUnavailable,
    WrongCodeB,
    WrongPin,
)
from kiosk.card.holder import Holder, Sex
from kiosk.card.interface import CardApplet, CardReader

__all__ = [
    "AuthenticityResult", "Cancelled", "CardApplet", "CardBusy", "CardCommunicationError",
    "CardConfig", "CardDataError", "CardError", "CardReader", "CardRemoved", "CodeBBlocked",
    "CodeBTriesLow", "Holder", "InvalidCodeB", "InvalidPin", "LastPinTry", "NoCard",
    "NotMyNumberCard", "NumberUnavailable", "PinBlocked", "PinRequired", "ReaderUnavailable",
    "ServiceUnavailable", "Sex", "TrustedCa", "WrongCodeB", "WrongPin", "open_reader",
]
