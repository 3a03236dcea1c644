"""The rate limit of every public endpoint (no sign-in: the congestion page, the booking
page, the phone status): at most `[public] requests_per_minute` per client address over
all of them together, then 429 with Retry-After.

Counted like the sign-in throttle (auth.py) and in the same table: one conditional upsert
per request, so several server processes share one count. A signed-in caller (staff
session or device token) is counted too: a public route does not look at credentials.
"""

from __future__ import annotations

import time

from fastapi import Depends, Request

from kiosk.backoffice.auth import _AtLimit, _count_each
from kiosk.backoffice.db import writing
from kiosk.backoffice.errors import ApiError

WINDOW_SECONDS = 60


def client_address(request: Request) -> str:
    return (request.client.host if request.client else "unknown")[:64]


def count_public(request: Request) -> None:
    """One public request from the caller's address; 429 past the limit."""
    bo = request.app.state.backoffice
    limit = bo.settings.public.requests_per_minute
    now = time.time()
    try:
        with writing(bo.engine) as conn:
            _count_each(conn, ((f"pub:{client_address(request)}", limit),), {}, now,
                        WINDOW_SECONDS)
    except _AtLimit:
        raise ApiError(429, "rate_limited", "too many requests from this address; "
                       "try again shortly", headers={"Retry-After": str(WINDOW_SECONDS)}) from None


PUBLIC = Depends(count_public)
