"""A kiosk process for the SIGKILL test: issues tickets as fast as it can and prints
each one it handed out (``key number``), flushed, so the test knows exactly what a
resident holds when the process is killed.

    python -m tests.sync.kiosk_proc DIR URL TOKEN
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from kiosk.sync import KioskLink, NoOfflineNumbers
from tests.sync.helpers import juminhyo, settings


def main() -> None:
    folder, url, token = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    link = KioskLink(settings(folder, url, token=token, issue_timeout=0.3, block_size=200,
                              refill_below=150))
    link.start()
    end = time.monotonic() + 20
    while link.status().offline_numbers_left.get("certificates", 0) < 150:
        if time.monotonic() > end:
            sys.exit("no number block")
        time.sleep(0.05)
    print("ready", flush=True)
    i = 0
    while True:
        try:
            t = link.issue_ticket("certificates", "juminhyo", juminhyo() if i % 2 else None)
        except NoOfflineNumbers:
            time.sleep(0.01)
            continue
        print(t.key, t.number, flush=True)
        i += 1


if __name__ == "__main__":
    main()
