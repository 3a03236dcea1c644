"""The back-office queue engine: usable without HTTP (no FastAPI, no status codes)."""
