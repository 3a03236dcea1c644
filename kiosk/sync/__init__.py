"""Kiosk ↔ back-office sync, offline-first: local store, outbox, offline numbers.

The kiosk app uses `KioskLink` only; see docs/sync.md.
"""

from kiosk.sync.link import KioskLink
from kiosk.sync.model import (
    Endpoint,
    IssuedTicket,
    IssueRefused,
    LinkStatus,
    NoOfflineNumbers,
    Offline,
    OpeningState,
    RoutedVisit,
    SyncError,
    WaitEstimate,
)
from kiosk.sync.sealing import PrivacyError

__all__ = ["Endpoint", "IssueRefused", "IssuedTicket", "KioskLink", "LinkStatus",
           "NoOfflineNumbers", "Offline", "OpeningState", "PrivacyError", "RoutedVisit",
           "SyncError", "WaitEstimate"]
