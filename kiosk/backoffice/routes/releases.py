"""Kiosk image releases (/api/v1/admin/releases, /api/v1/admin/wards/{ward}/release) and a
kiosk's target release and bundle download (/api/v1/device/release, /device/bundles/…).
The logic is kiosk.backoffice.fleet."""

from __future__ import annotations

import threading
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import FileResponse, JSONResponse
from pydantic import Field
from starlette.concurrency import run_in_threadpool
from starlette.types import Receive, Scope, Send

from kiosk.backoffice import fleet
from kiosk.backoffice.auth import Principal
from kiosk.backoffice.deps import ADMIN, KIOSK, Strict, bo_of
from kiosk.backoffice.engine import lookups
from kiosk.backoffice.engine.errors import forbidden
from kiosk.backoffice.errors import ApiError
from kiosk.backoffice.routes.admin import _actor
from kiosk.backoffice.schemas import Out

router = APIRouter(tags=["fleet"])

VERSION = r"^[0-9A-Za-z][0-9A-Za-z._+~-]{0,63}$"
Version = Annotated[str, Path(min_length=1, max_length=64, pattern=VERSION)]
WardCode = Annotated[str, Path(min_length=1, max_length=32, pattern=r"^[a-z][a-z0-9_-]*$")]


class ReleaseIn(Strict):
    version: str = Field(pattern=VERSION)
    compatible: str = Field(min_length=1, max_length=64, pattern=r"^[ -~]+$")
    # computed by the server for a file in bundle_dir (typed ones must agree); an
    # https:// url needs both typed
    sha256: str | None = Field(None, pattern=r"^[0-9a-f]{64}$")
    size: int | None = Field(None, ge=1, le=2**40)
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
    signature: str | None    # verified / unchecked (no keyring) / None (a url's: not here)
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


class DeletedReleaseOut(Out):
    version: str
    filename: str | None
    file_removed: bool       # false: the file stays in bundle_dir (or it was a url)


class BundleFileOut(Out):
    filename: str
    size: int


class BundleFilesOut(Out):
    bundle_dir: bool            # false: this server serves no bundles
    files: list[BundleFileOut]  # in bundle_dir, not named by any release yet


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


@router.delete("/admin/releases/{version}", response_model=DeletedReleaseOut,
               summary="Delete a release no ward targets (city-wide admin)")
async def delete_release(version: Version, request: Request, who: Principal = ADMIN,
                         remove_file: Annotated[bool, Query()] = False) -> dict[str, Any]:
    _city(who)
    return await run_in_threadpool(fleet.remove, bo_of(request), _actor(request, who),
                                   version, remove_file)


@router.get("/admin/releases", response_model=ReleasesOut,
            summary="Releases and each ward's target (admin; a ward's admin: its ward)")
def get_releases(request: Request, who: Principal = ADMIN) -> dict[str, Any]:
    return fleet.overview(bo_of(request), who.ward)


@router.get("/admin/bundles", response_model=BundleFilesOut,
            summary="Bundle files in [fleet] bundle_dir not registered yet (city-wide admin)")
async def get_bundle_files(request: Request, who: Principal = ADMIN) -> dict[str, Any]:
    _city(who)
    return await run_in_threadpool(fleet.unregistered_bundles, bo_of(request))


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


class DownloadGate:
    """Bundle downloads this process serves at once ([fleet] max_downloads): a city's
    kiosks told a new target must not all pull 0.5 GB from one host together."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.active = 0
        self._lock = threading.Lock()

    def enter(self) -> bool:
        with self._lock:
            if self.active >= self.limit:
                return False
            self.active += 1
            return True

    def leave(self) -> None:
        with self._lock:
            self.active -= 1


class GatedFileResponse(FileResponse):
    """The bundle, while a download slot is free (held until the body is sent or the
    kiosk goes away); 503 + Retry-After otherwise."""

    def __init__(self, path: Any, gate: DownloadGate, retry_after: int, **kw: Any) -> None:
        super().__init__(path, **kw)
        self.gate, self.retry_after = gate, retry_after

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self.gate.enter():
            busy = ApiError(503, "too_many_downloads", f"{self.gate.limit} bundle downloads "
                            "are under way on this server: try again after Retry-After")
            await JSONResponse(busy.body(), 503, headers={
                "Retry-After": str(self.retry_after)})(scope, receive, send)
            return
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.gate.leave()


def download_gate(request: Request) -> DownloadGate:
    state = request.app.state
    gate: DownloadGate | None = getattr(state, "bundle_downloads", None)
    if gate is None:
        gate = state.bundle_downloads = DownloadGate(bo_of(request).settings.fleet.max_downloads)
    return gate


@router.get("/device/bundles/{version}", response_class=Response,
            responses={200: {"content": {"application/octet-stream": {}}},
                       206: {"description": "a range of it (Range: bytes=n-)"},
                       503: {"description": "[fleet] max_downloads under way: Retry-After"}},
            summary="A release's bundle, resumable with Range (kiosk)")
def get_bundle(version: Version, request: Request, who: Principal = KIOSK) -> Response:
    bo = bo_of(request)
    path = fleet.served_bundle(bo, version)
    return GatedFileResponse(path, download_gate(request), bo.settings.fleet.retry_after_seconds,
                             media_type="application/octet-stream",
                             filename=f"{version}.raucb")
