"""Cross-site request refusal for browsers (CSRF), beside the session cookie's SameSite.

A state-changing request (POST, PUT, PATCH, DELETE) is refused with 403 when
- it carries an `Origin` that is not this server's own (scheme://Host, or
  `[server] public_url`), or
- it has no `Origin` but a `Sec-Fetch-Site` other than same-origin / none, or
- it has neither and is authenticated by the session cookie alone: every current browser
  sends one of them, so a cookie without them is not a page of ours.
Bearer-token clients (kiosks, displays, scripts) send neither header and are not affected:
a bearer token is never attached by a browser on its own.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from kiosk.backoffice.auth import COOKIE

UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
SAME = frozenset({"same-origin", "none"})  # none: typed or bookmarked by the user


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower() if parts.scheme and parts.netloc else ""


def refusal(scope: Scope, public_url: str = "") -> str | None:
    """Why this request is refused as cross-site, or None."""
    if scope["method"] not in UNSAFE:
        return None
    headers = Headers(scope=scope)
    origin = headers.get("origin")
    if origin is not None:
        own = {f"{scope.get('scheme', 'http')}://{headers.get('host', '')}".lower(),
               origin_of(public_url)}
        return None if origin.lower() in own else f"the request comes from {origin[:100]!r}"
    site = headers.get("sec-fetch-site")
    if site is not None:
        return None if site.lower() in SAME else f"Sec-Fetch-Site is {site[:20]!r}"
    bearer = headers.get("authorization", "")[:7].lower() == "bearer "
    if not bearer and f"{COOKIE}=" in headers.get("cookie", ""):
        return "a signed-in browser request without Origin or Sec-Fetch-Site"
    return None


class SameOrigin:
    """ASGI middleware: 403 for the requests `refusal` names, before any route runs."""

    def __init__(self, app: ASGIApp, public_url: str = "") -> None:
        self.app = app
        self.public_url = public_url

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        why = refusal(scope, self.public_url) if scope["type"] == "http" else None
        if why is None:
            await self.app(scope, receive, send)
            return
        body = json.dumps({"error": "cross_site_refused", "message": f"refused as a "
                           f"cross-site request: {why}; use this server's own pages"}).encode()
        await send({"type": "http.response.start", "status": 403,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
