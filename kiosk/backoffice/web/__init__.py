"""Browser pages served by the back-office (counter console, lobby display, phone page).

Stub: the web-pages engineer replaces this package's contents. The back-office app
includes `router` (see kiosk.backoffice.app)."""

from fastapi import APIRouter

router = APIRouter()
