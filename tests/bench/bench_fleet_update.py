"""What a kiosk update costs: a release of `--mb` MB published to a ward, taken by
`--kiosks` update agents at once (each its own stand-in updater and data folder, all
against one real back-office process serving the bundle with the kiosks' tokens). For
each agent: the time from publishing to "installed, waiting for the reboot", its download
rate, and the sha256 check's share; the back-office's serving rate over all of them.

    .venv/bin/python tests/bench/bench_fleet_update.py [--mb 64] [--kiosks 4]

The stand-in install is a file write: the real RAUC's copy into a slot is not in these
figures. Prints the figures, then one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from hardware.updater import StandinUpdater  # noqa: E402
from kiosk.fleet import agent as agent_module  # noqa: E402
from kiosk.fleet.agent import FleetSettings, UpdateAgent  # noqa: E402
from tests.support.backoffice import ServerFactory  # noqa: E402
from tests.support.fleet import fleet_config, kiosk_client, publish  # noqa: E402


def kiosk_token(server: Any, name: str) -> str:
    r = server.session("admin").post(server.api("/admin/devices"), timeout=30, json={
        "name": name, "kind": "kiosk", "ward": "kita"})
    r.raise_for_status()
    return str(r.json()["token"])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mb", type=int, default=64)
    ap.add_argument("--kiosks", type=int, default=4)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "bo").mkdir()
        factory = ServerFactory(root / "bo")
        try:
            server = factory.start(config=fleet_config(root / "bundles"))
            agents = []
            for i in range(args.kiosks):
                folder = root / f"kiosk{i}"
                folder.mkdir()
                client = kiosk_client(server, folder, kiosk_token(server, f"bench-kiosk-{i}"))
                agents.append(UpdateAgent(
                    StandinUpdater(folder / "slots.json"), client,
                    FleetSettings(updater="standin", data_dir=str(folder),
                                  reboot_window="00:00-00:01"),
                    idle=lambda: True, report=lambda _u: None))
            release = publish(server, root / "bundles", "2.0", padding=args.mb * 2**20)
            sha_seconds: list[float] = []
            sha256_of = agent_module.sha256_of

            def timed_sha(path: Path) -> str:
                t = time.perf_counter()
                out = sha256_of(path)
                sha_seconds.append(time.perf_counter() - t)
                return out

            agent_module.sha256_of = timed_sha
            results: list[float] = [0.0] * len(agents)

            def run(i: int) -> None:
                t = time.perf_counter()
                state = agents[i].step()
                assert state["state"] == "waiting-reboot", state
                results[i] = time.perf_counter() - t

            load_before = os.getloadavg()[0]
            started = time.perf_counter()
            threads = [threading.Thread(target=run, args=(i,)) for i in range(len(agents))]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            wall = time.perf_counter() - started
            load_after = os.getloadavg()[0]
        finally:
            factory.close()
    size_mb = release["size"] / 2**20
    print(f"bundle {size_mb:.1f} MB, {len(agents)} kiosks at once, load average "
          f"{load_before:.1f} → {load_after:.1f}")
    for i, seconds in enumerate(results):
        print(f"  kiosk {i}: publish → installed {seconds:.2f} s "
              f"({size_mb / seconds:.1f} MB/s end to end)")
    print(f"  sha256 check: {sum(sha_seconds) / len(sha_seconds):.2f} s per bundle")
    print(f"  back-office served {size_mb * len(agents) / wall:.1f} MB/s in all ({wall:.2f} s)")
    print(json.dumps({"bench": "fleet_update", "mb": round(size_mb, 1), "kiosks": len(agents),
                      "seconds": [round(x, 3) for x in results], "wall_s": round(wall, 3),
                      "served_mb_s": round(size_mb * len(agents) / wall, 1),
                      "sha256_s": round(sum(sha_seconds) / len(sha_seconds), 3),
                      "load_before": round(load_before, 2), "load_after": round(load_after, 2)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
