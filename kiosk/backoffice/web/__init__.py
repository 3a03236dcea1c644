"""Browser pages served by the back-office: counter console (/console), lobby display
(/display), the resident's phone status page (/status/<token>), the supervisor overview
(/supervisor), the floor staff's view (/floor) and the central office's view across
wards (/central). See docs/web.md.
The back-office app includes `router`."""

from kiosk.backoffice.web.admin_page import router as _admin
from kiosk.backoffice.web.booking_page import router as _booking
from kiosk.backoffice.web.central_routes import router as _central
from kiosk.backoffice.web.congestion_page import router as _congestion
from kiosk.backoffice.web.devices_page import router as _devices
from kiosk.backoffice.web.floor_page import router as _floor
from kiosk.backoffice.web.notify_page import router as _notify
from kiosk.backoffice.web.remote_page import router as _remote
from kiosk.backoffice.web.routes import router
from kiosk.backoffice.web.stats_routes import router as _stats
from kiosk.backoffice.web.waits_routes import router as _waits

router.include_router(_central)
router.include_router(_waits)
router.include_router(_stats)
router.include_router(_devices)
router.include_router(_admin)
router.include_router(_floor)
router.include_router(_congestion)
router.include_router(_booking)
router.include_router(_remote)
router.include_router(_notify)

__all__ = ["router"]
