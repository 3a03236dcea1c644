"""The back-office's HTTP routes under /api/v1, one module per resource (assembled in
kiosk.backoffice.api; what they depend on is kiosk.backoffice.deps):

    auth      sign-in, sign-out, who am I          catalog   catalog, wards and hours
    devices   device config, heartbeat, health     wards     ward state, queue, estimates
    tickets   issue, batch, number blocks, read    counter   ticket actions, call next
    events    live events (SSE)                    phone     status by token (+ SSE)
    admin     staff accounts, device tokens (/api/v1/admin)

The payment API is kiosk.backoffice.payments.router; the pages are kiosk.backoffice.web.
"""
