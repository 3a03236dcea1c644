"""Offline number blocks: numbers the back-office reserved for this kiosk, per service
and day, handed out one by one while it cannot be reached.

A block comes from `POST /number-blocks`, which advances the same sequence the online
numbers come from, so no other kiosk (and no online ticket) can ever get these numbers.
Taking a number is an UPDATE inside the issuing transaction: a kiosk killed mid-way
never hands the same number out twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from kiosk.sync.store import number_blocks


@dataclass(frozen=True)
class OfflineNumber:
    block_id: str
    service: str
    day: str
    value: int
    text: str           # "A-043"


def add_block(conn: Connection, body: Mapping[str, Any]) -> None:
    """Record a block as the back-office answered it."""
    first, last = int(body["first"]), int(body["last"])
    numbers = body.get("numbers") or []
    width = 3
    if numbers and "-" in str(numbers[0]):
        width = len(str(numbers[0]).rsplit("-", 1)[1])
    conn.execute(number_blocks.insert().values(
        block_id=str(body["block_id"]), service=str(body["service"]), prefix=str(body["prefix"]),
        width=width, day=str(body["day"]), first=first, last=last, next=first))


def take(conn: Connection, service: str, day: str) -> OfflineNumber | None:
    """The next unused reserved number, or None when the blocks of that day are used up."""
    row = conn.execute(
        select(number_blocks).where(number_blocks.c.service == service,
                                    number_blocks.c.day == day,
                                    number_blocks.c.next <= number_blocks.c.last)
        .order_by(number_blocks.c.first).limit(1)).mappings().first()
    if row is None:
        return None
    conn.execute(number_blocks.update().where(number_blocks.c.id == row["id"])
                 .values(next=row["next"] + 1))
    value = int(row["next"])
    return OfflineNumber(block_id=row["block_id"], service=service, day=day, value=value,
                         text=f"{row['prefix']}-{value:0{row['width']}d}")


def left(conn: Connection, day: str) -> dict[str, int]:
    rows = conn.execute(
        select(number_blocks.c.service,
               func.sum(number_blocks.c.last - number_blocks.c.next + 1))
        .where(number_blocks.c.day == day, number_blocks.c.next <= number_blocks.c.last)
        .group_by(number_blocks.c.service)).all()
    return {service: int(n) for service, n in rows}


def forget_before(conn: Connection, day: str) -> int:
    """Blocks of past days are worthless (numbers are per day): drop them."""
    return conn.execute(number_blocks.delete().where(number_blocks.c.day < day)).rowcount
