"""The phone page's service worker for Web Push (/push-sw.js, same origin, registered
with scope /status/): it only shows the back-office's push messages. The opt-in buttons are
phone_notify.js on the status page; the API is kiosk.backoffice.routes.notify."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse, Response

from kiosk.backoffice.web.assets import static_file

router = APIRouter(include_in_schema=False)


@router.get("/push-sw.js")
async def push_worker() -> Response:
    path = static_file("push-sw.js")
    if path is None:  # pragma: no cover — shipped with the package
        return Response("not found", status_code=404, media_type="text/plain")
    return FileResponse(path, media_type="text/javascript; charset=utf-8",
                        headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff",
                                 "Content-Security-Policy": "default-src 'none'"})
