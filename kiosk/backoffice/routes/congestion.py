"""The public congestion figures of a ward (issue #19): no sign-in, numbers only,
cacheable (Cache-Control max-age + ETag), rate-limited per address. The page
/congestion/<ward> (web/congestion_page.py) shows the same JSON."""

from __future__ import annotations

import hashlib
import json

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from kiosk.backoffice.congestion import congestion
from kiosk.backoffice.deps import WardPath, bo_of
from kiosk.backoffice.ratelimit import PUBLIC
from kiosk.backoffice.schemas_home import Congestion

router = APIRouter()


def cache_headers(request: Request, body: bytes) -> tuple[dict[str, str], bool]:
    """Public caching headers for `body`, and whether the caller's copy is still it."""
    tag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    seconds = bo_of(request).settings.public.cache_seconds
    headers = {"Cache-Control": f"public, max-age={seconds}", "ETag": tag,
               "X-Content-Type-Options": "nosniff"}
    wanted = {t.strip() for t in request.headers.get("if-none-match", "").split(",")}
    return headers, tag in wanted or "*" in wanted


@router.get("/public/congestion/{ward}", tags=["public"], response_model=Congestion,
            dependencies=[PUBLIC],
            summary="A ward's congestion now, by hour today, forecast and typical week "
                    "(public, cacheable, rate-limited)")
async def get_congestion(ward: WardPath, request: Request) -> Response:
    data = await run_in_threadpool(congestion, bo_of(request), ward)
    body = json.dumps(Congestion.model_validate(data).model_dump(mode="json"),
                      ensure_ascii=False, separators=(",", ":")).encode()
    headers, fresh = cache_headers(request, body)
    if fresh:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)
