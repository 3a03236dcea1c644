"""The server's own timers: jobs run every so many seconds on a worker thread, first at
start-up, in every server process. Each job must be safe to run in several processes at
once (a conditional UPDATE, a purge by age): the processes need no leader. A failing job
is logged and tried again next time; the server keeps serving."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Any

import anyio.to_thread

from kiosk.backoffice.context import Backoffice
from kiosk.backoffice.db import safe_error

log = logging.getLogger(__name__)

Job = tuple[str, Callable[[Backoffice], Any]]   # (what it does, for the log; the job)


async def run_every(bo: Backoffice, seconds: float, jobs: Sequence[Job]) -> None:
    while True:
        for what, job in jobs:
            try:
                await anyio.to_thread.run_sync(job, bo)
            except Exception as exc:  # noqa: BLE001 — next time again; the server keeps serving
                log.error("%s failed (%s); retrying in %d s", what, safe_error(exc), seconds)
        await asyncio.sleep(seconds)
