"""Browser pages served by the back-office: counter console (/console), lobby display
(/display), the resident's phone status page (/status/<token>) and the supervisor
overview (/supervisor). See docs/web.md. The back-office app includes `router`."""

from kiosk.backoffice.web.routes import router

__all__ = ["router"]
