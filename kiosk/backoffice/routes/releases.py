"""Kiosk image releases (/api/v1/admin/releases, /api/v1/admin/wards/{ward}/release) and a
kiosk's target release and bundle download (/api/v1/device/release, /device/bundles/…).
The logic is kiosk.backoffice.fleet."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import FileResponse
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from kiosk.backoffice import fleet
from kiosk.backoffice.auth import Principal
from kiosk.backoffice.deps import ADMIN, KIOSK, Strict, bo_of
from kiosk.backoffice.engine import lookups
from kiosk.backoffice.engine.errors import forbidden
from kiosk.backoffice.routes.admin import _actor
from kiosk.backoffice.schemas import Out

router = APIRouter(tags=["fleet"])

VERSION = r"^[0-9A-Za-z][0-9A-Za-z._+~-]{0,63}$"
Version = Annotated[str, Path(min_length=1, max_length=64, pattern=VERSION)]
WardCode = Annotated[str, Path(min_length=1, max_length=32, pattern=r"^[a-z][a-z0-9_-]*$")]


class ReleaseIn(Strict):
    version: str = Field(pattern=VERSION)
    compatible: str = Field(min_length=1, max_length=64, pattern=r"^[ -~]+$")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(ge=1, le=2**40)
    filename: str | None = Field(None, max_length=200, pattern=r"^[0-9A-Za-z][0-9A-Za-z._+-]*$")
    url: str | None = Field(None, max_length=500, pattern=r"^https://[^\s]+$")
    notes: str | None = Field(None, max_length=500)


class PublishedIn(Strict):
    published: bool


class WardReleaseIn(Strict):
    version: str | None = Field(pattern=VERSION)          # None: hold the ward's kiosks back
    canary_version: str | None = Field(None, pattern=VERSION)
    canary: list[str] = Field(default_factory=list, max_length=50)


class ReleaseOut(Out):
    version: str
    compatible: str
    sha256: str
    size: int
    filename: str | None
    url: str | None
    published: bool
    notes: str | None
    created_at: str | None
    created_by: str | None


class WardReleaseOut(Out):
    ward: str
    version: str | None
    canary_version: str | None
    canary: list[str]
    updated_at: str | None
    updated_by: str | None


class ReleasesOut(Out):
    releases: list[ReleaseOut]
    wards: list[WardReleaseOut]


class TargetOut(Out):
    version: str | None
    compatible: str | None = None
    sha256: str | None = None
    size: int | None = None
    url: str | None = None


def _city(who: Principal) -> None:
    if who.ward is not None:
        raise forbidden("releases are registered and published by a city-wide admin; a "
                        "ward's admin chooses among them for its ward")


@router.post("/admin/releases", status_code=201, response_model=ReleaseOut,
             summary="Register a kiosk image release (city-wide admin)")
async def post_release(body: ReleaseIn, request: Request,
                       who: Principal = ADMIN) -> dict[str, Any]:
    _city(who)
    return await run_in_threadpool(fleet.register, bo_of(request), _actor(request, who),
                                   body.model_dump())


@router.patch("/admin/releases/{version}", response_model=ReleaseOut,
              summary="Publish or withdraw a release (city-wide admin)")
async def patch_release(version: Version, body: PublishedIn, request: Request,
                        who: Principal = ADMIN) -> dict[str, Any]:
    _city(who)
    return await run_in_threadpool(fleet.set_published, bo_of(request),
                                   _actor(request, who), version, body.published)


@router.get("/admin/releases", response_model=ReleasesOut,
            summary="Releases and each ward's target (admin; a ward's admin: its ward)")
def get_releases(request: Request, who: Principal = ADMIN) -> dict[str, Any]:
    return fleet.overview(bo_of(request), who.ward)


@router.put("/admin/wards/{ward}/release", response_model=WardReleaseOut,
            summary="The release a ward's kiosks should run (admin of the ward)")
async def put_ward_release(ward: WardCode, body: WardReleaseIn, request: Request,
                           who: Principal = ADMIN) -> dict[str, Any]:
    bo = bo_of(request)
    lookups.ward_of(bo, ward)
    who.check_ward(ward)
    return await run_in_threadpool(fleet.set_ward_target, bo, _actor(request, who), ward,
                                   body.version, body.canary_version, body.canary)


@router.get("/device/release", response_model=TargetOut, response_model_exclude_unset=True,
            summary="The release this kiosk should run (kiosk)")
def get_device_release(request: Request, who: Principal = KIOSK) -> dict[str, Any]:
    assert who.ward is not None and who.device_name is not None
    return fleet.target_for(bo_of(request), who.ward, who.device_name)


@router.get("/device/bundles/{version}", response_class=Response,
            responses={200: {"content": {"application/octet-stream": {}}},
                       206: {"description": "a range of it (Range: bytes=n-)"}},
            summary="A release's bundle, resumable with Range (kiosk)")
def get_bundle(version: Version, request: Request, who: Principal = KIOSK) -> Response:
    path = fleet.served_bundle(bo_of(request), version)
    return FileResponse(path, media_type="application/octet-stream",
                        filename=f"{version}.raucb")
