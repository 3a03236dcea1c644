"""The procedure catalog and the wards with their hours (public)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from kiosk.backoffice import schemas as S
from kiosk.backoffice.deps import bo_of
from kiosk.backoffice.engine import lookups

router = APIRouter()


@router.get("/catalog", tags=["catalog"], response_model=S.Catalog,
            summary="The procedure catalog (public)")
def get_catalog(request: Request) -> dict[str, Any]:
    bo = bo_of(request)
    return {"version": bo.catalog_version, **bo.catalog_dict}


@router.get("/wards", tags=["catalog"], response_model=list[S.WardHours],
            summary="Wards and whether they are open (public)")
def get_wards(request: Request) -> list[dict[str, Any]]:
    bo = bo_of(request)
    return [{"code": w.code, "name": w.name, "open_now": lookups.is_open(bo, w),
             "opens": f"{w.hours.opens:%H:%M}", "closes": f"{w.hours.closes:%H:%M}",
             "weekdays": list(w.hours.weekdays)} for w in bo.catalog.wards.values()]
