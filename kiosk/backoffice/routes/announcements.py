"""Lobby announcement audio (/api/v1/wards/{ward}/announcements/{number}): what the lobby
display plays through its <audio> element when a number is called (docs/web.md, "Lobby
announcements"; docs/api.md).

Who: the ward's display (device token) and the ward's staff — the same callers as the
queue view the display already reads. What: Ogg Vorbis, the call in the ward's languages
([announcements] of backoffice.toml). A number and a counter only: no personal data, so
the answer may be cached by the browser for a while and by the server (kiosk.backoffice.
announcements) by number + counter + languages.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any
from weakref import WeakKeyDictionary

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from kiosk.backoffice.announcements import Announcer, parse_number
from kiosk.backoffice.auth import Principal, require_any
from kiosk.backoffice.context import Backoffice
from kiosk.backoffice.deps import WardPath
from kiosk.backoffice.engine.errors import Invalid, Unavailable, not_found
from kiosk.speech import SpeechError

log = logging.getLogger(__name__)
router = APIRouter(tags=["display"])

DISPLAY_OR_STAFF = Depends(require_any(role="staff", devices=("display",)))
NumberPath = Annotated[str, Path(min_length=1, max_length=12, pattern=r"^[A-Za-z0-9-]+$")]
OGG = "audio/ogg"
ERRORS: dict[int | str, dict[str, Any]] = {code: {"description": text} for code, text in (
    (401, "no credentials"), (403, "another ward's display or staff, or a kiosk"),
    (404, "unknown ward or counter"), (422, "not a ticket number of this ward"),
    (503, "announcements are off ([announcements] device = \"none\") or the voice failed"))}


_announcers: WeakKeyDictionary[Backoffice, Announcer] = WeakKeyDictionary()


def announcer(bo: Backoffice) -> Announcer:
    """The back-office's announcer (its cache), made at the first call."""
    found = _announcers.get(bo)
    if found is None:
        found = _announcers.setdefault(bo, Announcer(bo.settings.announcements))
    return found


@router.get(
    "/wards/{ward}/announcements/{number}", response_class=Response,
    summary="The spoken call of a number to a counter, in the ward's languages "
            "(Ogg Vorbis; the ward's display and staff)",
    responses={200: {"content": {OGG: {}},
                     "description": "Ogg Vorbis, mono 22.05 kHz: the call in Japanese, then "
                                    "each further language of the ward, 0.6 s apart"},
               **ERRORS})
async def get_announcement(ward: WardPath, number: NumberPath, request: Request,
                           counter: Annotated[int, Query(ge=1, le=999)],
                           who: Principal = DISPLAY_OR_STAFF) -> Response:
    bo: Backoffice = request.app.state.backoffice
    if ward not in bo.catalog.wards:
        raise not_found(f"ward {ward!r}")
    who.check_ward(ward)
    w = bo.catalog.wards[ward]
    if counter not in {c.number for c in w.counters}:
        raise not_found(f"counter {counter} of {ward}")
    parsed = parse_number(number.upper())
    prefixes = {bo.catalog.services[s].prefix for s in w.services if s in bo.catalog.services}
    if parsed is None or parsed[0] not in prefixes:
        raise Invalid("invalid", f"{number!r} is not a ticket number of {ward} "
                      f"(a prefix of {', '.join(sorted(prefixes))}, then digits)",
                      field="number")
    a = announcer(bo)
    if a.settings.device == "none":
        raise Unavailable("announcements_off", "this server makes no announcement audio")
    try:
        audio = await run_in_threadpool(a.audio, parsed[0], parsed[1], counter,
                                        a.settings.for_ward(ward))
    except SpeechError as exc:
        log.warning("announcement for %s-%d at counter %d failed: %s", parsed[0], parsed[1],
                    counter, exc)
        raise Unavailable("voice_failed", "the announcement could not be made") from None
    return Response(audio, media_type=OGG, headers={
        "Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff"})
