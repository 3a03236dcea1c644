"""Benchmark: the My Number card read through pcscd + vsmartcard-vpcd + the stand-in card.

    .venv/bin/python tests/bench/bench_card.py [--quick]

Targets: the basic-four read in ≤ 6 APDUs, ≤ 30 ms of software overhead in total (the
stand-in card answers at once, so the time through the real stack is all software:
pyscard, pcscd, vpcd, TCP, our parsing). Cases, each from exclusive connect to unpower:

- read:        tries left + VERIFY + basic four
- read+auth:   the same + the static authenticity check (EF 0003/0004, two RSA verifies)
- read+live:   the same + the live challenge with EF 0007's key
- in-process:  the read against the same card logic without PC/SC (our code alone)
- read, untuned TCP (full run only): the card without TCP_NODELAY / TCP_QUICKACK

Starts its own private pcscd (tests/support/pcsc.py). Prints median / p95 / max per case,
then one JSON line with all figures (last line).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from hardware.card.local import LocalCardReader  # noqa: E402
from hardware.card.rig import CardSlot, start_pcscd  # noqa: E402
from kiosk.card.authenticity import TrustedCa  # noqa: E402
from kiosk.card.interface import CardReader  # noqa: E402
from kiosk.card.pcsc import PcscCardReader  # noqa: E402

CA = REPO / "config" / "cards" / "test-ca.pem"


def one_read(reader: CardReader, auth: bool) -> int:
    session = reader.wait_for_card(5)
    try:
        session.tries_left()
        session.verify("1234")
        session.read_holder()
        if auth:
            assert session.check_authenticity().genuine
        return session.apdu_count
    finally:
        session.close()


KAO_CODE_B = "02022420307305"   # the kao profile's 照合番号B (fictitious)


def code_b_read(reader: CardReader, ask_pin_first: bool) -> int:
    """照合番号B read; `ask_pin_first` as the kiosk does (the PIN counter shows no PIN)."""
    session = reader.wait_for_card(5)
    try:
        if ask_pin_first:
            assert session.tries_left() == 0
        session.code_b_tries_left()
        session.verify_code_b(KAO_CODE_B)
        session.read_holder()
        return session.apdu_count
    finally:
        session.close()


def measure(fn: Callable[[], int], runs: int) -> dict[str, float]:
    fn()  # warm-up
    times, apdus = [], 0
    for _ in range(runs):
        start = time.perf_counter()
        apdus = fn()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return {"apdus": apdus, "median_ms": round(statistics.median(times), 2),
            "p95_ms": round(times[max(0, int(len(times) * 0.95) - 1)], 2),
            "max_ms": round(times[-1], 2), "runs": runs}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="a few runs only")
    args = parser.parse_args(argv)
    runs = 5 if args.quick else 100
    ca = [TrustedCa.from_file(CA)]
    directory = Path(tempfile.mkdtemp(prefix="bench-card-"))
    directory.chmod(0o755)
    pcscd = start_pcscd(directory)
    results: dict[str, dict[str, float]] = {}
    try:
        slot = CardSlot(pcscd, directory)
        slot.insert("yamada")
        plain = PcscCardReader(pcscd.reader, ca)
        live = PcscCardReader(pcscd.reader, ca, live_challenge=True)
        results["read"] = measure(lambda: one_read(plain, False), runs)
        results["read+auth"] = measure(lambda: one_read(plain, True), runs)
        results["read+live"] = measure(lambda: one_read(live, True), runs)
        if not args.quick:  # what TCP_NODELAY + TCP_QUICKACK on the card side are worth
            slot.insert("yamada", tuned_tcp=False)
            results["read, untuned TCP"] = measure(lambda: one_read(plain, False), 10)
        slot.insert("kao")   # a card without a PIN: 照合番号B
        results["code B read"] = measure(lambda: code_b_read(plain, False), runs)
        results["code B, kiosk order"] = measure(lambda: code_b_read(plain, True), runs)
        slot.remove()
        plain.close()
        live.close()
    finally:
        pcscd.stop()
        shutil.rmtree(directory, ignore_errors=True)
    local = LocalCardReader(REPO / "hardware" / "card" / "profiles" / "yamada.toml", ca)
    results["in-process"] = measure(lambda: one_read(local, False), runs)
    results["in-process+auth"] = measure(lambda: one_read(local, True), runs)
    for name, r in results.items():
        print(f"{name:20} {r['apdus']:3d} APDUs  median {r['median_ms']:7.2f} ms  "
              f"p95 {r['p95_ms']:7.2f} ms  max {r['max_ms']:7.2f} ms")
    read = results["read"]
    verdict = {"apdus_ok": read["apdus"] <= 6, "overhead_ok": read["median_ms"] <= 30,
               "code_b_apdus_ok": results["code B read"]["apdus"] <= 7}
    print(f"targets: ≤ 6 APDUs {'met' if verdict['apdus_ok'] else 'MISSED'}; "
          f"≤ 30 ms {'met' if verdict['overhead_ok'] else 'MISSED'} (median read); "
          f"code B ≤ 7 APDUs {'met' if verdict['code_b_apdus_ok'] else 'MISSED'}")
    print(json.dumps({"bench": "card", "machine": platform.node(), "cpus": os.cpu_count(),
                      "python": platform.python_version(), "quick": args.quick,
                      "results": results, **verdict}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
