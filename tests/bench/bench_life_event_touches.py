#!/usr/bin/env python3
"""Touches for life-event visits through the domain session (issue #17's goal: a 転入
with three procedures in ≤ 15 touches + PIN). The script is devtools.life_script's;
the Kivy-level count of the same visit is the kiosk's (tests/ui, life-kiosk).

    .venv/bin/python tests/bench/bench_life_event_touches.py

Prints the figures, then one JSON line: taps (buttons), pin (PIN pad touches) and keys
(kana keyboard presses for the one address no card holds), per visit.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

GOAL_TAPS = 15


def main() -> int:
    from devtools.life_script import TENNYU_THREE, run
    from kiosk.configfile import load_catalog, load_life_events
    from kiosk.domain.session import Session, SessionSettings, Step

    catalog = load_catalog()
    events = load_life_events(catalog=catalog)
    s = Session(catalog, "kita", SessionSettings(), 0.0, life_events=events)
    touches = run(s, TENNYU_THREE)
    assert s.step is Step.ISSUING, s.step
    request = s.routed_request()
    assert request is not None
    procedures = [a.procedure for a in request.applications]
    stages = [st.service for st in request.route]
    print(f"転入 with {len(procedures)} procedures ({', '.join(procedures)}), "
          f"{len(stages)} stages ({' → '.join(stages)})")
    print(f"  taps (buttons):            {touches.taps}  (goal ≤ {GOAL_TAPS}: "
          f"{'met' if touches.taps <= GOAL_TAPS else 'MISSED'})")
    print(f"  PIN pad (4 digits + OK):   {touches.pin}")
    print(f"  kana keys (new address):   {touches.keys}")
    print(json.dumps({"bench": "life_event_touches", "event": "tennyu",
                      "procedures": len(procedures), **touches.to_dict(),
                      "goal_taps": GOAL_TAPS, "met": touches.taps <= GOAL_TAPS}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
