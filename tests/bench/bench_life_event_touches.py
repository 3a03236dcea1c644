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
    from devtools.life_script import SCRIPTS, run
    from kiosk.configfile import load_catalog, load_life_events
    from kiosk.domain.session import Session, SessionSettings, Step

    catalog = load_catalog()
    events = load_life_events(catalog=catalog)
    figures = {}
    for name, script in SCRIPTS.items():
        s = Session(catalog, "kita", SessionSettings(), 0.0, life_events=events)
        touches = run(s, script)
        assert s.step is Step.ISSUING, (name, s.step, s.notice)
        request = s.routed_request()
        assert request is not None
        procedures = [a.procedure for a in request.applications]
        stages = [st.service for st in request.route]
        print(f"{name}: {len(procedures)} procedures ({', '.join(procedures)}), "
              f"{len(stages)} stages ({' → '.join(stages)}), "
              f"{len(request.guide) - len(procedures)} more in the guide")
        print(f"  taps (buttons) {touches.taps}, PIN pad {touches.pin}, "
              f"keys typed {touches.keys}, card reads 1")
        figures[name] = {"procedures": len(procedures), **touches.to_dict()}
    taps = figures["tennyu"]["taps"]
    print(f"転入 with three procedures: {taps} taps + PIN (goal ≤ {GOAL_TAPS}: "
          f"{'met' if taps <= GOAL_TAPS else 'MISSED'}); typing the new address "
          f"{figures['tennyu']['keys']} keys")
    print(json.dumps({"bench": "life_event_touches", "goal_taps": GOAL_TAPS,
                      "met": taps <= GOAL_TAPS, **figures}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
