"""What the back-office's routes depend on (`kiosk/backoffice/routes/`): who may call
(one `Depends` per kind of caller), the back-office of the request (`bo_of`), no-store for
answers about one resident's ticket, the Idempotency-Key header, and the path and body
types they share.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Path, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from kiosk.backoffice.auth import require, require_any, require_device, require_staff
from kiosk.backoffice.context import Backoffice
from kiosk.backoffice.engine import issuing

Code = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[a-z][a-z0-9_-]*$")]
WardPath = Annotated[str, Path(min_length=1, max_length=32, pattern=r"^[a-z][a-z0-9_-]*$")]
CounterPath = Annotated[int, Path(ge=1, le=999)]
TicketPath = Annotated[int, Path(ge=1, le=2**62)]

STAFF = Depends(require_staff("staff"))
SUPERVISOR = Depends(require_staff("supervisor"))
ADMIN = Depends(require_staff("admin"))
DEVICE = Depends(require_device())
KIOSK = Depends(require_device("kiosk"))
STAFF_OR_KIOSK = Depends(require_any(role="staff", devices=("kiosk",)))
ISSUER = Depends(require(issuing.ISSUERS))
STAFF_OR_DEVICE = Depends(require_any(role="staff"))
# Responses about one resident's ticket (its application, notes, status token) must not be
# kept by a browser or proxy: counter PCs are shared.
NO_STORE = {"Cache-Control": "no-store"}


def no_store(response: Response) -> None:
    response.headers.update(NO_STORE)


PRIVATE = [Depends(no_store)]


def bo_of(request: Request) -> Backoffice:
    bo: Backoffice = request.app.state.backoffice
    return bo


def base(request: Request) -> str:
    return str(request.base_url)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


IdemKey = Annotated[str, Header(alias="Idempotency-Key", min_length=8, max_length=128,
                                pattern=r"^[\x21-\x7e]+$")]
OptionalIdemKey = Annotated[str | None, Header(alias="Idempotency-Key", min_length=8,
                                               max_length=128, pattern=r"^[\x21-\x7e]+$")]
