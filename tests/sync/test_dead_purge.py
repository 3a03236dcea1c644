"""Messages the back-office refused for good ("dead") do not keep their sealed personal
data for ever: after [store] dead_max_days they are deleted, and not even their
ciphertext stays in kiosk.db, its WAL or its shared memory."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

from sqlalchemy import func, select

from kiosk.sync import KioskLink, blocks
from kiosk.sync.store import outbox
from tests.sync.faultproxy import wait_until
from tests.sync.helpers import dead_url, juminhyo, settings

DAY = 86400.0


def _offline_link(tmp_path: Path) -> KioskLink:
    s = settings(tmp_path, dead_url())
    link = KioskLink(dataclasses.replace(s, store=dataclasses.replace(s.store,
                                                                      dead_max_days=3)))
    with link.store.write() as conn:
        blocks.add_block(conn, {"block_id": 5, "service": "certificates", "prefix": "A",
                                "day": link.now().date().isoformat(), "first": 901,
                                "last": 903, "numbers": ["A-901", "A-903"]})
    return link


def _refused(link: KioskLink, age_days: float) -> bytes:
    """An offline ticket with an application, refused for good by the back-office (as
    Sender._apply marks it) `age_days` ago; returns its sealed bytes."""
    link.issue_ticket("certificates", "juminhyo", juminhyo())
    with link.store.write() as conn:
        key, sealed = conn.execute(select(outbox.c.key, outbox.c.sealed)
                                   .order_by(outbox.c.id.desc())).first()
        conn.execute(outbox.update().where(outbox.c.key == key).values(
            dead=True, last_error="422 unknown_service: gone",
            created_at=time.time() - age_days * DAY))
    assert sealed
    return bytes(sealed)


def _on_disk(link: KioskLink) -> bytes:
    folder = link.settings.store.path.parent
    return b"".join(p.read_bytes() for p in sorted(folder.glob("kiosk.db*")))


def _rows(link: KioskLink) -> int:
    with link.store.read() as conn:
        return int(conn.execute(select(func.count()).select_from(outbox)).scalar() or 0)


def test_a_refused_message_is_deleted_after_the_retention(tmp_path: Path) -> None:
    link = _offline_link(tmp_path)
    young = _refused(link, 2.9)
    old = _refused(link, 3.1)
    link.store.flush()
    assert old[13:45] in _on_disk(link)            # the ciphertext is on disk until then
    assert link.purge_dead() == 1
    assert _rows(link) == 1                         # the younger one stays for now
    link.stop()
    raw = _on_disk(link)
    assert old[13:45] not in raw and young[13:45] in raw


def test_the_link_purges_by_itself_even_offline(tmp_path: Path) -> None:
    link = _offline_link(tmp_path)
    sealed = _refused(link, 4)
    link.start()
    try:
        assert wait_until(lambda: _rows(link) == 0, 10)
        assert wait_until(lambda: sealed[13:45] not in _on_disk(link), 5)
    finally:
        link.stop()
    assert sealed[13:45] not in _on_disk(link)


def test_pending_messages_are_never_purged(tmp_path: Path) -> None:
    """Not refused, only not delivered yet (offline for a week): kept until sent."""
    link = _offline_link(tmp_path)
    link.issue_ticket("certificates", "juminhyo", juminhyo())
    with link.store.write() as conn:
        conn.execute(outbox.update().values(created_at=time.time() - 7 * DAY))
    assert link.purge_dead() == 0 and _rows(link) == 1
    link.stop()
