"""The ward back-office queue server: API, database, queue engine, live events.

Run it with ``python -m kiosk.backoffice serve``; the HTTP contract is docs/api.md.
"""
