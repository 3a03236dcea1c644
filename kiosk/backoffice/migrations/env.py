"""Alembic environment: runs migrations against the URL the back-office was given."""

from __future__ import annotations

from alembic import context

from kiosk.backoffice.db import make_engine
from kiosk.backoffice.models import metadata

config = context.config


def run() -> None:
    url = config.get_main_option("sqlalchemy.url")
    assert url, "sqlalchemy.url must be set"
    engine = make_engine(url, pool_size=1)
    try:
        with engine.connect() as conn:
            context.configure(connection=conn, target_metadata=metadata,
                              render_as_batch=conn.dialect.name == "sqlite")
            with context.begin_transaction():
                context.run_migrations()
            conn.commit()
    finally:
        engine.dispose()


run()
